"""A case names its office; continue_to_monitor comes back on a follow-up date (issue 10 item 6)."""

from datetime import UTC, date, datetime

import pytest

from divert_contracts.prosecution import LegacyCaseRegistered, LegacyCaseReviewed
from prosecution.domain import commands
from prosecution.domain.errors import FollowUpNotAhead, FollowUpOnlyWhenMonitoring
from prosecution.domain.model import ProsecutionCase

NOW = datetime(2026, 12, 2, 3, tzinfo=UTC)  # 2026-12-01 in Seattle
TODAY = date(2026, 12, 1)
REGISTER = commands.RegisterCase(
    participant_id="p1",
    jurisdiction="seattle-king-county",
    agency="kc-prosecutor",
    kind="legacy",
    docket_number="D-1",
    court="King County District Court",
    charges=(commands.Charge("23H", "Theft 3"),),
    filed_at=date(2026, 10, 1),
)


def registered() -> ProsecutionCase:
    case = ProsecutionCase.register("c1", REGISTER, NOW)
    case.pending = []
    return case


class TestRegistering:
    def test_the_event_names_the_owning_office(self) -> None:
        case = ProsecutionCase.register("c1", REGISTER, NOW)
        [event] = case.pending
        assert isinstance(event, LegacyCaseRegistered) and event.agency == "kc-prosecutor"


class TestFollowUp:
    def test_continue_to_monitor_defaults_to_thirty_local_days_on(self) -> None:
        case = registered()
        assert case.review("continue_to_monitor", NOW, today=TODAY) == date(2026, 12, 31)
        [event] = case.pending
        assert isinstance(event, LegacyCaseReviewed) and event.follow_up_on == date(2026, 12, 31)

    def test_a_chosen_date_is_carried(self) -> None:
        case = registered()
        case.review("continue_to_monitor", NOW, today=TODAY, follow_up_on=date(2026, 12, 15))
        assert case.pending[0].follow_up_on == date(2026, 12, 15)  # type: ignore[attr-defined]

    @pytest.mark.parametrize("when", [date(2026, 12, 1), date(2026, 11, 30), date(2027, 12, 3)])
    def test_a_date_not_ahead_or_too_far_is_refused_and_records_nothing(self, when: date) -> None:
        case = registered()
        with pytest.raises(FollowUpNotAhead) as refused:
            case.review("continue_to_monitor", NOW, today=TODAY, follow_up_on=when)
        assert refused.value.field == "follow_up_on" and case.pending == []

    def test_other_decisions_carry_no_follow_up(self) -> None:
        case = registered()
        assert case.review("dismiss_without_prejudice", NOW, today=TODAY) is None
        assert case.pending[0].follow_up_on is None  # type: ignore[attr-defined]
        with pytest.raises(FollowUpOnlyWhenMonitoring):
            case.review("decline_to_file", NOW, today=TODAY, follow_up_on=date(2026, 12, 15))
