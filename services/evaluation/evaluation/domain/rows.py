"""The rows one view serves: counts after suppression, each stage's rate against the previous stage and the
relative rate index against a reference group (the OJJDP disproportionate-contact method).

A rate or index is served only when every count behind it is: derived figures then add nothing to what the
counts already say."""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.domain.continuum import GROUPS, PREVIOUS, STAGES, TOTAL, UNIT_STAGES, Family, Key, total_key
from evaluation.domain.errors import UnknownView

BY = (*GROUPS, "unit")
MEDIAN = "median_days_referral_to_intake"
# The site's reference group per view (settings may override it); none for the other views.
DEFAULT_REFERENCE = {"race": "white", "ethnicity": "not_hispanic_or_latino"}


@dataclass(frozen=True)
class Row:
    stage: str
    group: str
    count: int | None
    rate: float | None
    relative_rate_index: float | None
    suppressed: bool
    value: float | None = None  # the median's days, on the median row only


def check_view(by: str) -> str:
    if by not in BY:
        raise UnknownView(f"by is one of: {', '.join(BY)}", field="by")
    return by


def _key(period: str, stage: str, view: str, group: str) -> Key:
    return total_key(period, stage) if group == TOTAL else (period, stage, view, group)


def _rate(family: Family, hidden: set[Key], period: str, stage: str, view: str, group: str) -> float | None:
    previous = PREVIOUS[stage]
    if previous is None:
        return None
    here, before = _key(period, stage, view, group), _key(period, previous, view, group)
    if here in hidden or before in hidden or family.values[before] == 0:
        return None
    return round(family.values[here] / family.values[before], 4)


def continuum(
    family: Family, hidden: set[Key], period: str, by: str, reference: dict[str, str] | None = None
) -> list[Row]:
    """Every stage for every group of `by` and the total, in a fixed order."""
    reference_group = (reference or DEFAULT_REFERENCE).get(by)
    rows = []
    for stage in STAGES:
        reference_rate = _rate(family, hidden, period, stage, by, reference_group) if reference_group else None
        for group in (*GROUPS[by], TOTAL):
            key = _key(period, stage, by, group)
            suppressed = key in hidden
            rate = _rate(family, hidden, period, stage, by, group)
            index = round(rate / reference_rate, 4) if rate is not None and reference_rate else None
            rows.append(Row(stage, group, None if suppressed else family.values[key], rate, index, suppressed))
    rows += _medians(family, hidden, period, by)
    return rows


def _medians(family: Family, hidden: set[Key], period: str, by: str) -> list[Row]:
    """Median days from referral to intake, served only where the enrolled count behind it is."""
    rows = []
    for group in (*GROUPS[by], TOTAL):
        enrolled = _key(period, "enrolled", by, group)
        median = family.median_days.get((period, TOTAL if group == TOTAL else by, group))
        hide = enrolled in hidden or median is None
        rows.append(Row(MEDIAN, group, None, None, None, enrolled in hidden, None if hide else median))
    return rows


def units(family: Family, hidden: set[Key], period: str, agency: str) -> list[Row]:
    """A police agency's own diversions and social-contact referrals per unit, under the same suppression."""
    rows = []
    for stage in UNIT_STAGES:
        cells = [(u, (period, stage, "unit", f"{agency}/{u}")) for u in sorted(family.units.get(agency, ()))]
        cells.append((TOTAL, (period, stage, "agency", agency)))
        for group, key in cells:
            suppressed = key in hidden
            rows.append(Row(stage, group, None if suppressed else family.values.get(key, 0), None, None, suppressed))
    return rows
