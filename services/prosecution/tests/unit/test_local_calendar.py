"""Deadlines and follow-ups are the site's local calendar dates, not UTC's (issue 10 item 7)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from divert_contracts.prosecution import ChargeHeld, IntakeDeadlineLapsed
from prosecution.domain.model import HeldCharge
from prosecution.domain.standing import local_date, zone_named

HELD = ChargeHeld(
    referral_id="r1",
    participant_id="p1",
    offense_codes=["35A"],
    intake_deadline=date(2026, 12, 1),
    held_at=datetime(2026, 11, 1, tzinfo=UTC),
)


def held() -> HeldCharge:
    return HeldCharge.replay("r1", "seattle-king-county", [HELD])  # type: ignore[return-value]


class TestALapseWaitsForTheSitesMidnight:
    @pytest.mark.parametrize(
        ("zone", "local_midnight"),
        [
            ("America/Los_Angeles", datetime(2026, 12, 2, 8, tzinfo=UTC)),
            ("America/Denver", datetime(2026, 12, 2, 7, tzinfo=UTC)),
            ("UTC", datetime(2026, 12, 2, 0, tzinfo=UTC)),
        ],
    )
    def test_not_a_second_before_and_at_once_after(self, zone: str, local_midnight: datetime) -> None:
        charge = held()
        assert not charge.lapse_if_due(local_midnight - timedelta(seconds=1), ZoneInfo(zone))
        assert charge.pending == []
        assert charge.lapse_if_due(local_midnight, ZoneInfo(zone))
        assert [type(e) for e in charge.pending] == [IntakeDeadlineLapsed]

    def test_utc_midnight_is_still_the_deadline_day_in_seattle(self) -> None:
        charge = held()
        assert not charge.lapse_if_due(datetime(2026, 12, 2, 0, 30, tzinfo=UTC), ZoneInfo("America/Los_Angeles"))
        assert charge.status == "held"


class TestTheSitesZone:
    def test_an_unknown_name_is_no_zone(self) -> None:
        assert zone_named("Mars/Olympus_Mons") is None
        assert zone_named("") is None and zone_named(None) is None
        assert zone_named("../../etc/passwd") is None

    def test_without_a_zone_the_date_is_utcs(self) -> None:
        assert local_date(datetime(2026, 12, 2, 0, 30, tzinfo=UTC), None) == date(2026, 12, 2)
