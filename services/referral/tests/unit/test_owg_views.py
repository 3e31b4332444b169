"""The meeting views' tables: every column has a category and a holder, and every value reads as words."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from referral.domain.disclosure import ANCHORS, COLUMNS, HOLDERS, holder_of
from referral.entrypoints.owg_render import EMPTY, ROSTER, SECTIONS, cell

SEATTLE = ZoneInfo("America/Los_Angeles")


class TestEveryShownColumnIsDecided:
    def test_each_column_a_section_shows_has_a_category(self) -> None:
        for _, _, columns in SECTIONS:
            assert set(columns) <= set(COLUMNS)
        assert set(ROSTER) <= set(COLUMNS)

    def test_new_columns_carry_the_categories_the_issue_names(self) -> None:
        assert {COLUMNS[c] for c in ("enrolment", "not_enrolled_reason", "intake_completed")} == {"assessment"}
        assert {COLUMNS[c] for c in ("lapsed_at", "extended_to", "extension_granted_by")} == {"referral"}
        assert {COLUMNS[c] for c in ("docket_number", "review_decision", "follow_up_on")} == {"legal_case"}
        assert {COLUMNS[c] for c in ("plan_version", "goal_count")} == {"plan"}
        assert COLUMNS["contacts_since"] == "contacts"

    def test_holders_name_known_columns_and_the_officer_stays_the_referrers(self) -> None:
        assert set(HOLDERS) <= set(COLUMNS)
        assert holder_of("officer_name") == ("referring_agency",)
        assert holder_of("docket_number") == ("case_agency",)
        assert holder_of("lapsed_at") == ("referring_agency", "co_holder")
        assert {name for name, _, _ in SECTIONS} <= set(ANCHORS)


class TestValuesReadAsWords:
    def test_no_python_literal_reaches_the_page(self) -> None:
        assert cell(None, "officer_name", SEATTLE) == EMPTY
        assert cell([], "offense_codes", SEATTLE) == EMPTY
        assert cell(["35A", "90J"], "offense_codes", SEATTLE) == "35A, 90J"
        assert (cell(True, "intake_completed", SEATTLE), cell(False, "intake_completed", SEATTLE)) == ("Yes", "No")
        assert cell("intake_lapsed", "not_enrolled_reason", SEATTLE) == "Intake lapsed"

    def test_dates_are_local_calendar_dates(self) -> None:
        assert cell(date(2026, 11, 30), "lapsed_deadline", SEATTLE) == "Mon 30 Nov 2026"
        late_evening = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)  # still 30 November in Seattle
        assert cell(late_evening, "lapsed_at", SEATTLE) == "Mon 30 Nov 2026, 23:30"
        assert cell("2026-12-20", "extended_to", SEATTLE) == "Sun 20 Dec 2026"
