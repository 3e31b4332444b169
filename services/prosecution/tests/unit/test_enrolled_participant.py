"""A new diversion of a participant already in the program starts no intake clock (DESIGN §3, issue 10 item 4)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from divert_contracts.casemgmt import EnrolmentChanged, IntakeCompleted, ParticipantStatusChanged
from divert_contracts.prosecution import ChargeHeld, DivertedChargeClosed, IntakeDeadlineLapsed
from prosecution.domain.errors import CannotReopen, ClosedParticipantEnrolled
from prosecution.domain.model import HeldCharge
from prosecution.domain.standing import Standing, in_program

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
HELD = ChargeHeld(
    referral_id="r2", participant_id="p1", offense_codes=["35A"], intake_deadline=date(2026, 12, 1), held_at=T0
)
CLOSED_ENROLLED = DivertedChargeClosed(
    referral_id="r2", participant_id="p1", reason="participant_enrolled", closed_at=T0
)
ROLES = ["police", "case_management", "prosecutor", "defender", "project_manager", "community", "evaluator", "auditor"]


def given(*history: object) -> HeldCharge:
    return HeldCharge.replay("r2", "seattle-king-county", history)  # type: ignore[arg-type,return-value]


def enrolment(state: str, reason: str | None = None) -> EnrolmentChanged:
    return EnrolmentChanged(participant_id="p1", enrolment=state, not_enrolled_reason=reason, changed_at=T0)  # type: ignore[arg-type]


def status(value: str) -> ParticipantStatusChanged:
    return ParticipantStatusChanged(participant_id="p1", status=value, reason="r", changed_at=T0)  # type: ignore[arg-type]


def standing_after(*facts: object) -> Standing:
    """Facts in the order case management recorded them, an hour apart."""
    state = Standing()
    for hours, fact in enumerate(facts):
        state = state.after(fact, T0 + timedelta(hours=hours))  # type: ignore[arg-type]
    return state


class TestTheChargeOfAnEnrolledParticipantClosesAtOnce:
    def test_held_then_closed_with_the_reason(self) -> None:
        charge = HeldCharge.hold(HELD, "seattle-king-county")
        charge.close_as_enrolled(T0)
        assert [type(e) for e in charge.pending] == [ChargeHeld, DivertedChargeClosed]
        assert charge.pending[1].reason == "participant_enrolled"  # type: ignore[attr-defined]
        assert charge.status == "closed_participant_enrolled"

    def test_a_lapsed_charge_not_yet_decided_closes_too(self) -> None:
        lapsed = IntakeDeadlineLapsed(
            referral_id="r2", participant_id="p1", intake_deadline=date(2026, 12, 1), lapsed_at=T0
        )
        charge = given(HELD, lapsed)
        charge.close_as_enrolled(T0)
        assert charge.status == "closed_participant_enrolled"

    def test_closed_once_then_nothing_more_is_recorded(self) -> None:
        charge = given(HELD, CLOSED_ENROLLED)
        charge.close_as_enrolled(T0)
        charge.close_by_intake(T0)
        assert charge.pending == []

    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("file", [True, False])
    def test_no_role_ever_decides_on_it(self, role: str, file: bool) -> None:
        charge = given(HELD, CLOSED_ENROLLED)
        with pytest.raises(ClosedParticipantEnrolled):
            charge.decide(datetime(2027, 6, 1, tzinfo=UTC), by_agency_type=role, file=file)
        assert charge.pending == []

    def test_it_is_never_held_in_abeyance_nor_reopened(self) -> None:
        charge = given(HELD, CLOSED_ENROLLED)
        with pytest.raises(ClosedParticipantEnrolled):
            charge.hold_in_abeyance()
        with pytest.raises(CannotReopen) as refused:
            charge.reopen()
        assert "already enrolled" in refused.value.detail


class TestWhoIsInTheProgram:
    def test_enrolled_by_the_enrolment_change_or_by_intake(self) -> None:
        assert standing_after(enrolment("enrolled")).in_program
        intake = IntakeCompleted(participant_id="p1", referral_ids=["r1"], completed_at=T0)
        assert standing_after(enrolment("referred"), intake).in_program

    @pytest.mark.parametrize("reason", ["declined", "owg_denied", "intake_lapsed", "withdrew"])
    def test_not_enrolled_is_not_in_the_program(self, reason: str) -> None:
        assert not standing_after(enrolment("not_enrolled", reason)).in_program
        assert not standing_after(enrolment("referred")).in_program

    def test_inactive_is_still_enrolled_but_exited_is_out(self) -> None:
        assert standing_after(enrolment("enrolled"), status("inactive")).in_program
        assert not standing_after(enrolment("enrolled"), status("exited")).in_program

    def test_an_intake_after_the_exit_admits_the_person_again(self) -> None:
        intake = IntakeCompleted(participant_id="p1", referral_ids=["r3"], completed_at=T0)
        assert standing_after(enrolment("enrolled"), status("exited"), intake).in_program

    def test_a_fact_older_than_the_one_held_changes_nothing(self) -> None:
        enrolled = Standing().after(enrolment("enrolled"), T0 + timedelta(hours=2))
        assert enrolled.after(enrolment("referred"), T0 + timedelta(hours=1)) == enrolled
        exited = enrolled.after(status("exited"), T0 + timedelta(hours=3))
        assert exited.after(status("active"), T0) == exited

    def test_linked_records_are_one_person(self) -> None:
        declined = standing_after(enrolment("not_enrolled", "declined"))
        assert in_program([declined, standing_after(enrolment("enrolled"))])
        assert not in_program([declined, Standing()])
