"""A known month of events, counted by hand: screenings, discretion, diversions, hand-offs, intakes, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evaluation.domain.continuum import count, equations, stages_of
from evaluation.domain.facts import Fact, assemble
from evaluation.domain.rows import continuum, units
from evaluation.domain.suppression import suppress

OCT = datetime(2026, 10, 6, 17, tzinfo=UTC)
NOW = datetime(2027, 2, 1, tzinfo=UTC)  # three months after every intake, not yet six
WHITE = {"race": "white", "ethnicity": "not_hispanic_or_latino", "gender": "male", "age_band": "25-34"}
BLACK = {**WHITE, "race": "black"}
ASIAN = {**WHITE, "race": "asian"}


def screenings(groups: dict[str, str], n: int, tag: str) -> list[Fact]:
    data = {**groups, "eligible": True, "referral_type": "arrest_diversion"}
    return [Fact("screened", f"s-{tag}-{i}", OCT, data=data) for i in range(n)]


def diversions(groups: dict[str, str], n: int, enrolled: int, tag: str, unit: str, days: int) -> list[Fact]:
    facts = []
    for i in range(n):
        rid, pid = f"r-{tag}-{i}", f"p-{tag}-{i}"
        offer = {**groups, "referral_type": "arrest_diversion", "referring_agency": "seattle-pd"}
        offer |= {"officer_unit": unit, "intake_deadline": "2026-11-05"}
        facts += [
            Fact("referred", rid, OCT, pid, offer),
            Fact("accepted", rid, OCT + timedelta(hours=1), pid),
            Fact("handed_off", rid, OCT + timedelta(hours=2), pid),
        ]
        if i < enrolled:
            facts.append(Fact("intake", pid, OCT + timedelta(days=days), pid, {"referral_ids": [rid]}))
    return facts


@pytest.fixture(scope="module")
def family():  # type: ignore[no-untyped-def]
    facts = screenings(WHITE, 40, "w") + screenings(BLACK, 20, "b") + screenings(ASIAN, 3, "a")
    facts += [Fact("not_diverted", f"d-{i}", OCT, data={**WHITE, "reason": "safety_concern"}) for i in range(12)]
    facts += diversions(WHITE, 24, 12, "w", "west", days=5) + diversions(BLACK, 11, 11, "b", "east", days=9)
    contacts, paths = assemble(facts, "America/Los_Angeles")
    built = count(contacts, paths, 2026, NOW)
    return built, suppress(built.values, equations(built))


def table(family, period: str, by: str):  # type: ignore[no-untyped-def]
    built, hidden = family
    return {(r.stage, r.group): r for r in continuum(built, hidden, period, by)}


class TestCountsRatesAndIndexes:
    def test_the_month_quarter_and_year_agree_for_one_months_events(self, family) -> None:  # type: ignore[no-untyped-def]
        for period in ("2026-10", "2026Q4", "2026"):
            rows = table(family, period, "race")
            assert rows[("screened", "white")].count == 40
            assert rows[("screened", "total")].count == 63
            assert rows[("offered", "white")].count == 24 and rows[("offered", "black")].count == 11
            assert rows[("enrolled", "white")].count == 12 and rows[("enrolled", "black")].count == 11
            assert rows[("active_3m", "total")].count == 23
            assert rows[("active_6m", "total")].count == 0  # six months have not passed
        assert table(family, "2026-09", "race")[("screened", "total")].count == 0

    def test_rates_against_the_previous_stage_and_indexes_against_white(self, family) -> None:  # type: ignore[no-untyped-def]
        rows = table(family, "2026-10", "race")
        assert rows[("offered", "white")].rate == 0.6  # 24 / 40
        assert rows[("offered", "white")].relative_rate_index == 1.0
        assert rows[("not_diverted", "white")].rate == 0.3  # 12 / 40
        assert rows[("not_diverted.safety_concern", "white")].count == 12
        assert rows[("enrolled", "white")].rate == 0.5  # 12 / 24 handed off
        assert rows[("enrolled", "black")].rate == 1.0  # 11 / 11
        assert rows[("enrolled", "black")].relative_rate_index == 2.0  # 1.0 / 0.5
        assert rows[("enrolled", "total")].rate == round(23 / 35, 4)
        assert rows[("retention_due_3m", "white")].rate == 1.0  # all 12 enrolled passed three months
        assert rows[("active_3m", "black")].rate == 1.0  # 11 / 11 due
        assert rows[("active_6m", "black")].rate is None  # none due yet: no rate against zero

    def test_the_median_days_from_referral_to_intake(self, family) -> None:  # type: ignore[no-untyped-def]
        rows = table(family, "2026Q4", "race")
        median = "median_days_referral_to_intake"
        assert rows[(median, "white")].value == 5 and rows[(median, "black")].value == 9
        assert rows[(median, "total")].value == 5  # twelve fives, eleven nines

    def test_small_cells_and_their_partners_are_suppressed_and_what_rests_on_them(self, family) -> None:  # type: ignore[no-untyped-def]
        rows = table(family, "2026-10", "race")
        asian, black = rows[("screened", "asian")], rows[("screened", "black")]
        assert asian.suppressed and asian.count is None  # 3: primary
        assert black.suppressed and black.count is None  # 20: the smallest partner in the race view
        assert rows[("offered", "black")].rate is None  # its previous stage is suppressed
        assert rows[("offered", "black")].relative_rate_index is None

    def test_other_views_count_the_same_people(self, family) -> None:  # type: ignore[no-untyped-def]
        rows = table(family, "2026-10", "ethnicity")
        assert rows[("screened", "not_hispanic_or_latino")].count == 63
        assert rows[("offered", "not_hispanic_or_latino")].relative_rate_index == 1.0
        assert table(family, "2026-10", "gender")[("screened", "male")].count == 63

    def test_the_police_per_unit_view(self, family) -> None:  # type: ignore[no-untyped-def]
        built, hidden = family
        rows = {(r.stage, r.group): r.count for r in units(built, hidden, "2026-10", "seattle-pd")}
        assert rows[("offered", "west")] == 24 and rows[("offered", "east")] == 11
        assert rows[("offered", "total")] == 35


class TestStages:
    def test_an_intake_after_the_window_and_an_exit_before_three_months(self) -> None:
        offer = {**WHITE, "referral_type": "arrest_diversion", "intake_deadline": "2026-10-10"}
        facts = [
            Fact("referred", "r1", OCT, "p1", offer),
            Fact("intake", "p1", OCT + timedelta(days=20), "p1", {"referral_ids": ["r1"]}),
            Fact("status", "p1", OCT + timedelta(days=40), "p1", {"status": "exited"}),
            Fact("referred", "r2", OCT + timedelta(days=50), "p1", offer),
        ]
        _, paths = assemble(facts)
        first, second = sorted(paths, key=lambda p: p.referred_at)
        assert {"enrolled_after_window", "exited_3m"} <= stages_of(first, NOW)
        assert "re_referred" in stages_of(second, NOW) and "re_referred" not in stages_of(first, NOW)
