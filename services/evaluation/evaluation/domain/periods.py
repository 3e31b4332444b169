"""Whole, aligned periods only (a month, a quarter, a year): free date bounds would let anyone difference two
views. A year is the top of its lattice; months nest in quarters, quarters in the year."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from evaluation.domain.errors import UnalignedPeriod

# ASCII digits only, matched whole (`$` would let a trailing newline through, `\d` full-width digits).
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
_QUARTER = re.compile(r"([0-9]{4})Q([1-4])", re.ASCII)
_YEAR = re.compile(r"([0-9]{4})", re.ASCII)
YEARS = range(2000, 2200)  # as the other services bound a year


@dataclass(frozen=True, order=True)
class Period:
    year: int
    kind: str  # "year" | "quarter" | "month"
    index: int  # quarter 1-4, month 1-12, 0 for the year

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.index:02d}"
        if self.kind == "quarter":
            return f"{self.year}Q{self.index}"
        return str(self.year)

    def contains(self, day: date) -> bool:
        if day.year != self.year:
            return False
        if self.kind == "month":
            return day.month == self.index
        if self.kind == "quarter":
            return (day.month - 1) // 3 + 1 == self.index
        return True

    def parts(self) -> tuple[Period, ...]:
        """The periods that add up to this one, one level down (none for a month)."""
        if self.kind == "year":
            return tuple(Period(self.year, "quarter", q) for q in range(1, 5))
        if self.kind == "quarter":
            return tuple(Period(self.year, "month", m) for m in range(3 * self.index - 2, 3 * self.index + 1))
        return ()


def parse(text: str) -> Period:
    """`2026-10`, `2026Q4` or `2026` (years 2000 to 2199); anything else is refused, naming the field."""
    found = None
    if m := _MONTH.fullmatch(text):
        found = Period(int(m.group(1)), "month", int(m.group(2)))
    elif m := _QUARTER.fullmatch(text):
        found = Period(int(m.group(1)), "quarter", int(m.group(2)))
    elif m := _YEAR.fullmatch(text):
        found = Period(int(m.group(1)), "year", 0)
    if found is not None and found.year in YEARS and (found.kind != "month" or 1 <= found.index <= 12):
        return found
    raise UnalignedPeriod("period is a whole month (2026-10), quarter (2026Q4) or year (2026)", field="period")


def lattice(year: int) -> tuple[Period, ...]:
    """Every period published for a year: the year, its quarters, its months."""
    top = Period(year, "year", 0)
    quarters = top.parts()
    return (top, *quarters, *(m for q in quarters for m in q.parts()))


def periods_of(day: date) -> tuple[Period, ...]:
    """The month, quarter and year a day falls in."""
    return (
        Period(day.year, "year", 0),
        Period(day.year, "quarter", (day.month - 1) // 3 + 1),
        Period(day.year, "month", day.month),
    )
