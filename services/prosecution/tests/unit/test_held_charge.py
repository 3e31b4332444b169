from datetime import UTC, date, datetime

import pytest

from divert_contracts.prosecution import ChargeHeld, DivertedChargeClosed, HeldChargeFiled
from prosecution.domain.errors import ClosedByIntake, DeadlineNotLapsed, NotHeld, OnlyProsecutorFiles
from prosecution.domain.model import HeldCharge

HELD_AT = datetime(2026, 11, 1, 9, tzinfo=UTC)
DEADLINE = date(2026, 12, 1)


CHARGE_HELD = ChargeHeld(
    referral_id="r1", participant_id="p1", offense_codes=["35A"], intake_deadline=DEADLINE, held_at=HELD_AT
)
INTAKE_CLOSED = DivertedChargeClosed(
    referral_id="r1", participant_id="p1", reason="intake_completed", closed_at=datetime(2026, 11, 9, tzinfo=UTC)
)


def given(*history: object) -> HeldCharge:
    return HeldCharge.replay("r1", "seattle-king-county", history)  # type: ignore[arg-type,return-value]


def held() -> HeldCharge:
    return given(CHARGE_HELD)


def closed_by_intake() -> HeldCharge:
    return given(CHARGE_HELD, INTAKE_CLOSED)


class TestHolding:
    def test_an_arrest_diversion_holds_the_charge_until_the_deadline(self) -> None:
        charge = HeldCharge.hold("r1", "seattle-king-county", "p1", ["35A"], DEADLINE, HELD_AT)
        assert [type(e) for e in charge.pending] == [ChargeHeld]
        assert charge.status == "held" and charge.intake_deadline == DEADLINE


class TestIntakeClosesTheCharge:
    def test_intake_closes_a_held_charge(self) -> None:
        charge = held()
        charge.close_by_intake(datetime(2026, 11, 10, tzinfo=UTC))
        assert [type(e) for e in charge.pending] == [DivertedChargeClosed]
        assert charge.status == "closed_by_intake"

    def test_a_second_intake_notice_records_nothing(self) -> None:
        charge = closed_by_intake()
        charge.close_by_intake(datetime(2026, 11, 11, tzinfo=UTC))
        assert charge.pending == []


class TestFiling:
    def test_filing_after_intake_is_refused_even_after_the_deadline(self) -> None:
        charge = closed_by_intake()
        with pytest.raises(ClosedByIntake):
            charge.file(datetime(2027, 1, 1, tzinfo=UTC), by_agency_type="prosecutor")
        assert charge.pending == []

    def test_non_coercion_is_checked_before_who_is_asking(self) -> None:
        with pytest.raises(ClosedByIntake):
            closed_by_intake().file(datetime(2027, 1, 1, tzinfo=UTC), by_agency_type="police")

    def test_filing_before_the_deadline_lapses_is_refused(self) -> None:
        charge = held()
        with pytest.raises(DeadlineNotLapsed):
            charge.file(datetime(2026, 12, 1, 23, tzinfo=UTC), by_agency_type="prosecutor")
        assert charge.pending == []

    def test_only_the_prosecutor_files(self) -> None:
        with pytest.raises(OnlyProsecutorFiles):
            held().file(datetime(2027, 1, 1, tzinfo=UTC), by_agency_type="police")

    def test_the_prosecutor_may_file_once_the_window_lapsed_without_intake(self) -> None:
        charge = held()
        charge.file(datetime(2026, 12, 2, tzinfo=UTC), by_agency_type="prosecutor")
        assert [type(e) for e in charge.pending] == [HeldChargeFiled]
        assert charge.status == "filed"
        with pytest.raises(NotHeld):
            charge.file(datetime(2026, 12, 3, tzinfo=UTC), by_agency_type="prosecutor")
