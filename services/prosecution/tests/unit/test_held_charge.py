from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from divert_contracts.prosecution import (
    ChargeHeld,
    DivertedChargeClosed,
    HeldChargeDeadlineMoved,
    HeldChargeFiled,
    HeldChargeNotFiled,
    IntakeDeadlineLapsed,
)
from prosecution.domain.errors import (
    CannotReopen,
    ClosedByIntake,
    DeadlineNotLapsed,
    NeverInAbeyance,
    NotHeld,
    OnlyProsecutorDecides,
)
from prosecution.domain.model import HeldCharge

HELD_AT = datetime(2026, 11, 1, 9, tzinfo=UTC)
DEADLINE = date(2026, 12, 1)
AFTER = datetime(2026, 12, 2, 8, tzinfo=UTC)
CHARGE_HELD = ChargeHeld(
    referral_id="r1",
    participant_id="p1",
    offense_codes=["35A"],
    intake_deadline=DEADLINE,
    held_at=HELD_AT,
    charging_reference="2026-000123",
)
INTAKE_CLOSED = DivertedChargeClosed(
    referral_id="r1", participant_id="p1", reason="intake_completed", closed_at=datetime(2026, 11, 9, tzinfo=UTC)
)
LAPSED = IntakeDeadlineLapsed(referral_id="r1", participant_id="p1", intake_deadline=DEADLINE, lapsed_at=AFTER)
SEATTLE = ZoneInfo("America/Los_Angeles")
ROLES = ["police", "case_management", "prosecutor", "defender", "project_manager", "community", "evaluator", "auditor"]


def given(*history: object) -> HeldCharge:
    return HeldCharge.replay("r1", "seattle-king-county", history)  # type: ignore[arg-type,return-value]


class TestHolding:
    def test_an_arrest_diversion_holds_the_charge_until_the_deadline(self) -> None:
        charge = HeldCharge.hold(CHARGE_HELD, "seattle-king-county")
        assert [type(e) for e in charge.pending] == [ChargeHeld]
        assert charge.status == "held" and charge.intake_deadline == DEADLINE


class TestIntakeClosesTheCharge:
    def test_intake_closes_a_held_charge(self) -> None:
        charge = given(CHARGE_HELD)
        charge.close_by_intake(datetime(2026, 11, 10, tzinfo=UTC))
        assert [type(e) for e in charge.pending] == [DivertedChargeClosed]
        assert charge.status == "closed_by_intake"

    def test_intake_after_the_lapse_but_before_a_decision_still_closes_it(self) -> None:
        charge = given(CHARGE_HELD, LAPSED)
        charge.close_by_intake(AFTER)
        assert charge.status == "closed_by_intake"

    def test_a_second_intake_notice_records_nothing(self) -> None:
        charge = given(CHARGE_HELD, INTAKE_CLOSED)
        charge.close_by_intake(datetime(2026, 11, 11, tzinfo=UTC))
        assert charge.pending == []


class TestNonCoercion:
    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("file", [True, False])
    def test_after_intake_no_role_can_decide_on_the_charge(self, role: str, file: bool) -> None:
        charge = given(CHARGE_HELD, INTAKE_CLOSED)
        with pytest.raises(ClosedByIntake):
            charge.decide(datetime(2027, 6, 1, tzinfo=UTC), by_agency_type=role, file=file)
        assert charge.pending == []

    def test_it_is_never_held_in_abeyance_nor_reopened(self) -> None:
        closed = given(CHARGE_HELD, INTAKE_CLOSED)
        with pytest.raises(ClosedByIntake):
            closed.hold_in_abeyance()
        with pytest.raises(NeverInAbeyance):
            given(CHARGE_HELD).hold_in_abeyance()
        with pytest.raises(CannotReopen) as refused:
            closed.reopen()
        assert "completed intake" in refused.value.detail


class TestTheWindow:
    def test_lapses_only_after_the_deadline_day(self) -> None:
        charge = given(CHARGE_HELD)
        assert not charge.lapse_if_due(datetime(2026, 12, 1, 23, 59, tzinfo=UTC), SEATTLE)
        assert charge.lapse_if_due(AFTER, SEATTLE)
        assert [type(e) for e in charge.pending] == [IntakeDeadlineLapsed]
        assert not charge.lapse_if_due(AFTER, SEATTLE)  # once

    def test_an_extension_moves_the_deadline(self) -> None:
        charge = given(CHARGE_HELD)
        charge.extend(date(2026, 12, 15), AFTER)
        assert [type(e) for e in charge.pending] == [HeldChargeDeadlineMoved]
        assert not charge.lapse_if_due(AFTER, SEATTLE)

    def test_an_extension_after_a_lapse_holds_the_charge_again(self) -> None:
        charge = given(CHARGE_HELD, LAPSED)
        charge.extend(date(2026, 12, 15), AFTER)
        assert charge.status == "held"
        with pytest.raises(DeadlineNotLapsed):
            charge.decide(AFTER, by_agency_type="prosecutor", file=True)


class TestDeciding:
    def test_filing_before_the_lapse_is_refused(self) -> None:
        with pytest.raises(DeadlineNotLapsed):
            given(CHARGE_HELD).decide(AFTER, by_agency_type="prosecutor", file=True)

    def test_only_the_prosecutor_decides(self) -> None:
        with pytest.raises(OnlyProsecutorDecides):
            given(CHARGE_HELD, LAPSED).decide(AFTER, by_agency_type="police", file=True)

    def test_the_prosecutor_files_or_declines_once_the_window_lapsed(self) -> None:
        filed = given(CHARGE_HELD, LAPSED)
        filed.decide(AFTER, by_agency_type="prosecutor", file=True)
        assert [type(e) for e in filed.pending] == [HeldChargeFiled] and filed.status == "filed"
        with pytest.raises(NotHeld):
            filed.decide(AFTER, by_agency_type="prosecutor", file=False)
        declined = given(CHARGE_HELD, LAPSED)
        declined.decide(AFTER, by_agency_type="prosecutor", file=False)
        assert [type(e) for e in declined.pending] == [HeldChargeNotFiled]
