"""Whole aligned periods in ASCII digits, years 2000 to 2199; anything else refused naming `period`."""

from __future__ import annotations

import pytest

from evaluation.domain.errors import UnalignedPeriod
from evaluation.domain.periods import Period, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-10", Period(2026, "month", 10)), ("2026Q4", Period(2026, "quarter", 4)), ("2199", Period(2199, "year", 0))],
)
def test_whole_periods_parse(text: str, expected: Period) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text", ["0000", "1999", "2200Q1", "0000-01", "\uff12\uff10\uff12\uff16", "2026\n", "2026Q4\n", "2026-00", "٢٠٢٦"]
)
def test_other_text_is_refused_naming_period(text: str) -> None:
    with pytest.raises(UnalignedPeriod) as refused:
        parse(text)
    assert refused.value.field == "period"
