"""Issue 10, items 1, 2, 3 and 9: enrolment's two preconditions, statuses that tell the truth, the OWG's approval
binding case management, and person matches. Given events, when a command, then events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from casemgmt.domain.enrolment import ConsentToParticipate, RoiOnFile
from casemgmt.domain.errors import (
    AwaitingOwgApproval,
    CannotWithdraw,
    IntakeAlreadyCompleted,
    InvalidStatus,
    NoOpenReferral,
    NotEnrolled,
    RoiNotYetSeen,
)
from casemgmt.domain.model import ExtensionBounds, ParticipantCase
from divert_contracts.casemgmt import CaseOpened, EnrolmentChanged, IntakeCompleted, ReferralStateChanged

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
CONSENT = ConsentToParticipate(NOW, SHA)
ROI = RoiOnFile(on_file=True, consent_id="c1", holder_known=True)


def given(*history: object, participant_id: str = "p1") -> ParticipantCase:
    return ParticipantCase.replay(participant_id, "seattle-king-county", history)  # type: ignore[arg-type,return-value]


def offered(referral_id: str = "r1", deadline: date | None = date(2026, 12, 20)) -> CaseOpened:
    return CaseOpened(
        participant_id="p1", referral_id=referral_id, referral_type="arrest_diversion", intake_deadline=deadline
    )


def social_contact(referral_id: str = "s1") -> CaseOpened:
    return CaseOpened(
        participant_id="p1",
        referral_id=referral_id,
        referral_type="social_contact",
        intake_deadline=None,
        intake_target=date(2026, 12, 23),
    )


def noted(state: str, referral_id: str = "r1", deadline: date | None = None) -> ReferralStateChanged:
    return ReferralStateChanged(
        participant_id="p1",
        referral_id=referral_id,
        state=state,  # type: ignore[arg-type]
        intake_deadline=deadline,
        changed_at=NOW,
    )


def enrolment(value: str, reason: str | None = None) -> EnrolmentChanged:
    return EnrolmentChanged(participant_id="p1", enrolment=value, not_enrolled_reason=reason, changed_at=NOW)  # type: ignore[arg-type]


def recorded(case: ParticipantCase) -> list[tuple[str, ...]]:
    """What the command recorded, compactly: the event type and, for enrolment, where the person now stands."""
    out: list[tuple[str, ...]] = []
    for event in case.pending:
        if isinstance(event, EnrolmentChanged):
            out.append(("EnrolmentChanged", event.enrolment, str(event.not_enrolled_reason)))
        elif isinstance(event, ReferralStateChanged):
            out.append(("ReferralStateChanged", event.state))
        else:
            out.append((type(event).__name__,))
    return out


ENROLLED = [("IntakeCompleted",), ("EnrolmentChanged", "enrolled", "None"), ("ParticipantStatusChanged",)]


class TestIntakeNeedsBothPreconditions:
    def test_with_consent_to_take_part_and_an_roi_on_file_the_person_is_enrolled_and_active(self) -> None:
        case = given(offered(), enrolment("referred"))
        case.complete_intake(NOW, NOW, CONSENT, ROI)
        assert recorded(case) == ENROLLED
        assert (case.enrolment, case.status) == ("enrolled", "active")

    def test_without_consent_to_take_part_it_is_refused_naming_it(self) -> None:
        case = given(offered(), enrolment("referred"))
        with pytest.raises(InvalidStatus) as refused:
            case.complete_intake(NOW, NOW, None, ROI)
        assert refused.value.field == "consent_to_participate" and case.pending == []

    def test_consent_signed_after_the_intake_is_refused(self) -> None:
        case = given(offered(), enrolment("referred"))
        late = ConsentToParticipate(datetime(2026, 11, 23, 13, tzinfo=UTC), SHA)
        with pytest.raises(InvalidStatus) as refused:
            case.complete_intake(NOW, datetime(2026, 11, 23, 14, tzinfo=UTC), late, ROI)
        assert refused.value.field == "consent_to_participate.signed_at" and case.pending == []

    def test_without_an_roi_on_file_it_is_refused_naming_roi(self) -> None:
        case = given(offered(), enrolment("referred"))
        with pytest.raises(InvalidStatus) as refused:
            case.complete_intake(NOW, NOW, CONSENT, RoiOnFile(on_file=False, consent_id=None, holder_known=True))
        assert refused.value.field == "roi" and case.pending == []

    def test_before_the_consent_service_saw_the_handoff_it_is_a_conflict_to_retry(self) -> None:
        case = given(offered(), enrolment("referred"))
        with pytest.raises(RoiNotYetSeen) as refused:
            case.complete_intake(NOW, NOW, CONSENT, RoiOnFile(on_file=False, consent_id=None, holder_known=False))
        assert refused.value.retry_after and case.pending == []


class TestReferredUntilIntake:
    def test_a_new_offer_makes_the_person_referred_with_no_status(self) -> None:
        case = given()
        case.receive_referral("r1", "arrest_diversion", date(2026, 12, 20), NOW, None)
        assert recorded(case) == [("CaseOpened",), ("EnrolmentChanged", "referred", "None")]
        assert case.status is None

    def test_status_is_refused_before_enrolment(self) -> None:
        case = given(offered(), enrolment("referred"))
        with pytest.raises(NotEnrolled):
            case.change_status("inactive", "not_seen_90_days", NOW)
        assert case.pending == []

    def test_a_new_offer_to_an_enrolled_participant_opens_no_new_intake(self) -> None:
        case = given(offered(), enrolment("referred"))
        case.complete_intake(NOW, NOW, CONSENT, ROI)
        case.pending.clear()
        case.receive_referral("r2", "arrest_diversion", date(2027, 1, 20), NOW, None)
        assert recorded(case) == [("CaseOpened",)]
        assert case.enrolment == "enrolled" and case.intake_deadline is None

    def test_a_stream_recorded_before_enrolment_existed_replays_truthfully(self) -> None:
        intake = IntakeCompleted(participant_id="p1", referral_ids=["r1"], completed_at=NOW)
        assert (given(offered()).enrolment, given(offered(), intake).status) == ("referred", "active")
        assert given(offered(), intake).enrolment == "enrolled"


class TestNotEnrolledAndWhy:
    def test_declining_the_only_offer_means_not_enrolled_declined(self) -> None:
        case = given(offered(), enrolment("referred"))
        case.note_referral("r1", "declined", NOW)
        assert recorded(case) == [
            ("ReferralStateChanged", "declined"),
            ("EnrolmentChanged", "not_enrolled", "declined"),
        ]

    def test_declining_one_of_two_open_offers_leaves_the_person_referred(self) -> None:
        case = given(offered("r1"), offered("r2"), enrolment("referred"))
        case.note_referral("r1", "declined", NOW)
        assert recorded(case) == [("ReferralStateChanged", "declined")] and case.enrolment == "referred"

    def test_a_lapse_means_not_enrolled_intake_lapsed_once(self) -> None:
        case = given(offered(), enrolment("referred"))
        case.note_referral("r1", "lapsed", NOW)
        case.note_referral("r1", "lapsed", NOW)
        assert recorded(case) == [
            ("ReferralStateChanged", "lapsed"),
            ("EnrolmentChanged", "not_enrolled", "intake_lapsed"),
        ]

    def test_withdrawal_before_intake_means_not_enrolled_withdrew(self) -> None:
        case = given(offered(), enrolment("referred"))
        case.withdraw(NOW)
        assert recorded(case) == [("EnrolmentChanged", "not_enrolled", "withdrew")]

    @pytest.mark.parametrize("history", [[enrolment("enrolled")], [enrolment("not_enrolled", "declined")]])
    def test_withdrawal_is_refused_unless_referred(self, history: list[object]) -> None:
        case = given(offered(), *history)
        with pytest.raises(CannotWithdraw):
            case.withdraw(NOW)
        assert case.pending == []

    def test_intake_after_a_decline_needs_a_new_offer(self) -> None:
        case = given(offered(), enrolment("referred"), noted("declined"), enrolment("not_enrolled", "declined"))
        with pytest.raises(NoOpenReferral):
            case.complete_intake(NOW, NOW, CONSENT, ROI)
        case.receive_referral("r2", "arrest_diversion", date(2027, 1, 20), NOW, None)
        assert recorded(case)[-1] == ("EnrolmentChanged", "referred", "None")

    def test_intake_twice_is_a_conflict(self) -> None:
        case = given(offered(), enrolment("enrolled"))
        with pytest.raises(IntakeAlreadyCompleted):
            case.complete_intake(NOW, NOW, CONSENT, ROI)


class TestNotEnrolledIsNotFinal:
    LAPSED = (offered(), enrolment("referred"), noted("lapsed"), enrolment("not_enrolled", "intake_lapsed"))

    def test_a_late_intake_after_a_lapse_still_enrols_and_covers_the_lapsed_referral(self) -> None:
        case = given(*self.LAPSED)
        case.complete_intake(NOW, NOW, CONSENT, ROI)
        assert recorded(case) == ENROLLED
        assert case.pending[0].referral_ids == ["r1"]  # type: ignore[attr-defined]

    def test_an_owg_extension_after_a_lapse_makes_the_person_referred_again(self) -> None:
        case = given(*self.LAPSED)
        case.extend_intake(date(2027, 1, 10), "lead-project-manager", "seattle-pd", NOW, ExtensionBounds())
        assert recorded(case) == [("IntakeDeadlineExtended",), ("EnrolmentChanged", "referred", "None")]

    def test_the_prosecutor_moving_the_deadline_makes_the_person_referred_again_once(self) -> None:
        case = given(*self.LAPSED)
        case.note_referral("r1", "deadline_moved", NOW, date(2027, 1, 10))
        case.note_referral("r1", "deadline_moved", NOW, date(2027, 1, 10))
        assert recorded(case) == [("ReferralStateChanged", "deadline_moved"), ("EnrolmentChanged", "referred", "None")]

    def test_intake_after_a_withdrawal_enrols(self) -> None:
        case = given(offered(), enrolment("referred"), enrolment("not_enrolled", "withdrew"))
        case.complete_intake(NOW, NOW, CONSENT, ROI)
        assert recorded(case) == ENROLLED


ACTIONS: dict[str, Callable[[ParticipantCase], None]] = {
    "assignment": lambda c: c.assign("cm-1", 0, 25, NOW),
    "screening": lambda c: c.complete_screening("cm-1", NOW, NOW),
    "intake": lambda c: c.complete_intake(NOW, NOW, CONSENT, ROI),
}


class TestOwgApprovalBindsCaseManagement:
    @pytest.mark.parametrize("action", sorted(ACTIONS))
    def test_before_approval_it_is_refused_naming_the_rule(self, action: str) -> None:
        case = given(social_contact(), enrolment("referred"))
        with pytest.raises(AwaitingOwgApproval) as refused:
            ACTIONS[action](case)
        assert refused.value.rule == "owg_approval_required" and case.pending == []

    @pytest.mark.parametrize("action", sorted(ACTIONS))
    def test_after_approval_it_goes_ahead(self, action: str) -> None:
        case = given(social_contact(), enrolment("referred"), noted("owg_approved", "s1"))
        ACTIONS[action](case)
        assert case.pending

    @pytest.mark.parametrize("action", sorted(ACTIONS))
    def test_after_a_denial_it_stays_refused(self, action: str) -> None:
        case = given(social_contact(), enrolment("referred"))
        case.note_referral("s1", "owg_denied", NOW)
        assert recorded(case)[-1] == ("EnrolmentChanged", "not_enrolled", "owg_denied")
        case.pending.clear()
        with pytest.raises(AwaitingOwgApproval):
            ACTIONS[action](case)

    def test_an_arrest_diversion_open_beside_it_needs_no_approval(self) -> None:
        case = given(social_contact(), offered(), enrolment("referred"))
        case.complete_intake(NOW, NOW, CONSENT, ROI)
        assert case.enrolment == "enrolled"

    def test_a_social_contact_has_an_intake_target_and_no_deadline(self) -> None:
        case = given(social_contact(), enrolment("referred"))
        assert (case.intake_target, case.intake_deadline) == (date(2026, 12, 23), None)


class TestPersonMatches:
    def test_the_survivor_takes_over_the_merged_records_open_referrals(self) -> None:
        survivor = given(offered("r1"), enrolment("referred"))
        merged = given(offered("r2", date(2026, 12, 10)), enrolment("referred"), participant_id="p2")
        survivor.absorb(merged, NOW)
        assert recorded(survivor) == [("CaseMerged",)]
        assert survivor.intake_deadline == date(2026, 12, 10)
        survivor.complete_intake(NOW, NOW, CONSENT, ROI)
        assert survivor.pending[1].referral_ids == ["r1", "r2"]  # type: ignore[attr-defined]

    def test_an_enrolled_merged_record_enrols_the_survivor(self) -> None:
        survivor = given(offered("r1"), enrolment("referred"))
        merged = given(offered("r2"), enrolment("referred"), participant_id="p2")
        merged.complete_intake(NOW, NOW, CONSENT, ROI)
        survivor.absorb(merged, NOW)
        assert recorded(survivor) == [
            ("CaseMerged",),
            ("EnrolmentChanged", "enrolled", "None"),
            ("ParticipantStatusChanged",),
        ]

    def test_a_not_enrolled_survivor_is_referred_again_by_the_merged_open_referral(self) -> None:
        survivor = given(offered("r1"), enrolment("referred"), noted("declined"), enrolment("not_enrolled", "declined"))
        survivor.absorb(given(offered("r2"), enrolment("referred"), participant_id="p2"), NOW)
        assert recorded(survivor) == [("CaseMerged",), ("EnrolmentChanged", "referred", "None")]

    def test_linking_twice_changes_nothing(self) -> None:
        survivor = given(offered("r1"), enrolment("referred"))
        merged = given(offered("r2"), enrolment("referred"), participant_id="p2")
        survivor.absorb(merged, NOW)
        survivor.pending.clear()
        survivor.absorb(merged, NOW)
        assert survivor.pending == []
