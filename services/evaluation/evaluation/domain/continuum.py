"""The LEAD continuum counted per period, stage and group, for a whole year's lattice of periods at once.

Every referral is counted in the period it was made (a cohort), so months add up to their quarter and
quarters to their year: the relations suppression has to respect are exact sums, listed by `equations`.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from evaluation.domain.facts import DIMENSIONS, Contact, ReferralPath
from evaluation.domain.periods import lattice, periods_of

RACES = (
    "american_indian_or_alaska_native",
    "asian",
    "black",
    "native_hawaiian_or_pacific_islander",
    "white",
    "multiracial",
    "other",
    "unknown",
)
GROUPS: dict[str, tuple[str, ...]] = {
    "race": RACES,
    "ethnicity": ("hispanic_or_latino", "not_hispanic_or_latino", "unknown"),
    "gender": ("female", "male", "nonbinary", "transgender_female", "transgender_male", "other", "unknown"),
    "age_band": ("under_18", "18-24", "25-34", "35-44", "45-54", "55-64", "65_and_over", "unknown"),
    "referral_type": ("arrest_diversion", "social_contact", "unknown"),
}
VIEWS = (*DIMENSIONS, "referral_type")
TOTAL = "total"
REASONS = (
    "declined_by_person",
    "victim_requests_prosecution",
    "safety_concern",
    "outstanding_warrant",
    "under_supervision",
    "officer_judgment",
    "other",
)
MONTHS = (3, 6, 12)
# Enrolled participants whose 3, 6 or 12 months have passed, then where each stood at that mark.
DUE = tuple(f"retention_due_{m}m" for m in MONTHS)
RETENTION = tuple(f"{s}_{m}m" for m in MONTHS for s in ("active", "inactive", "exited"))
# Each stage and the stage its rate is taken against (None: the first of its line).
PREVIOUS: dict[str, str | None] = {
    "screened": None,
    "not_diverted": "screened",
    **{f"not_diverted.{r}": "not_diverted" for r in REASONS},
    "referred": None,
    "offered": "screened",
    "accepted": "offered",
    "declined": "offered",
    "social_contact_submitted": None,
    "social_contact_approved": "social_contact_submitted",
    "social_contact_denied": "social_contact_submitted",
    "handed_off": "referred",
    "enrolled": "handed_off",
    "enrolled_within_window": "enrolled",
    "enrolled_after_window": "enrolled",
    "intake_lapsed": "offered",
    "filed_after_lapse": "intake_lapsed",
    **{stage: "enrolled" for stage in DUE},
    **{stage: f"retention_due_{stage.rsplit('_', 1)[1]}" for stage in RETENTION},
    "re_referred": "referred",
}
STAGES = tuple(PREVIOUS)
# Stages that are exact sums of others, for every period and group.
STAGE_SUMS: dict[str, tuple[str, ...]] = {
    "not_diverted": tuple(f"not_diverted.{r}" for r in REASONS),
    "referred": ("offered", "social_contact_submitted"),
    "enrolled": ("enrolled_within_window", "enrolled_after_window"),
    **{f"retention_due_{m}m": tuple(f"{s}_{m}m" for s in ("active", "inactive", "exited")) for m in MONTHS},
}
UNIT_STAGES = ("offered", "social_contact_submitted")

Key = tuple[str, str, str, str]  # (period, stage, view, group); the total is (period, stage, "total", "total")


def total_key(period: str, stage: str) -> Key:
    return (period, stage, TOTAL, TOTAL)


def add_months(day: datetime, months: int) -> datetime:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def stages_of(path: ReferralPath, now: datetime) -> set[str]:
    """Every stage a referral reached by `now` (retention only once its 3, 6 or 12 months have passed)."""
    reached = {"referred", *path.reached}
    arrest = path.groups["referral_type"] == "arrest_diversion"
    reached.add("offered" if arrest else "social_contact_submitted")
    if path.re_referral:
        reached.add("re_referred")
    if path.intake_at is None or path.intake_on is None:
        return reached
    reached.add("enrolled")
    late = path.intake_deadline is not None and path.intake_on > path.intake_deadline
    reached.add("enrolled_after_window" if late else "enrolled_within_window")
    for months in MONTHS:
        mark = add_months(path.intake_at, months)
        if mark <= now:
            status = next((s for at, s in reversed(path.statuses) if path.intake_at <= at <= mark), "active")
            reached |= {f"retention_due_{months}m", f"{status}_{months}m"}
    return reached


@dataclass
class Family:
    """Every published count of one jurisdiction's year, and the exact sums that tie them together."""

    year: int
    values: Counter[Key] = field(default_factory=Counter)
    units: dict[str, set[str]] = field(default_factory=dict)  # agency -> its units
    median_days: dict[tuple[str, str, str], float] = field(default_factory=dict)  # (period, view, group)


def count(contacts: list[Contact], paths: list[ReferralPath], year: int, now: datetime) -> Family:
    family = Family(year)
    for period in lattice(year):
        for stage in STAGES:
            family.values[total_key(period.label, stage)] += 0
            for view in VIEWS:
                for group in GROUPS[view]:
                    family.values[(period.label, stage, view, group)] += 0
    for contact in contacts:
        stages = ("screened",) if contact.reason is None else ("not_diverted", f"not_diverted.{_reason(contact)}")
        _add(family, contact.on, stages, contact.groups)
    days: dict[tuple[str, str, str], list[int]] = {}
    for path in paths:
        if path.on.year != year:
            continue
        reached = stages_of(path, now)
        _add(family, path.on, reached, path.groups)
        family.units.setdefault(path.agency, set()).add(path.unit)
        for stage in reached & set(UNIT_STAGES):
            for period in periods_of(path.on):
                family.values[(period.label, stage, "agency", path.agency)] += 1
                family.values[(period.label, stage, "unit", f"{path.agency}/{path.unit}")] += 1
        if path.intake_on is not None:
            for period in periods_of(path.on):
                for view, group in [(TOTAL, TOTAL), *((v, path.groups[v]) for v in VIEWS)]:
                    days.setdefault((period.label, view, group), []).append((path.intake_on - path.on).days)
    _zero_units(family)
    family.median_days = {k: _median(v) for k, v in days.items()}
    return family


def _reason(contact: Contact) -> str:
    return contact.reason if contact.reason in REASONS else "other"


def _add(family: Family, on: date, stages, groups: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    if on.year != family.year:
        return
    for period in periods_of(on):
        for stage in stages:
            family.values[total_key(period.label, stage)] += 1
            for view in VIEWS:
                family.values[(period.label, stage, view, groups[view])] += 1


def _zero_units(family: Family) -> None:
    for period in lattice(family.year):
        for stage in UNIT_STAGES:
            for agency, units in family.units.items():
                family.values[(period.label, stage, "agency", agency)] += 0
                for unit in units:
                    family.values[(period.label, stage, "unit", f"{agency}/{unit}")] += 0


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def equations(family: Family) -> list[tuple[Key, tuple[Key, ...]]]:
    """Every exact relation an outsider holding all published views of the year could use: `whole = sum(parts)`."""
    found: list[tuple[Key, tuple[Key, ...]]] = []
    periods = lattice(family.year)
    cells = [(v, g) for v in VIEWS for g in GROUPS[v]] + [(TOTAL, TOTAL)]
    for period in periods:
        p = period.label
        for stage in STAGES:
            for view in VIEWS:
                found.append((total_key(p, stage), tuple((p, stage, view, g) for g in GROUPS[view])))
        for whole, parts in STAGE_SUMS.items():
            for view, group in cells:
                found.append(((p, whole, view, group), tuple((p, s, view, group) for s in parts)))
        for stage in UNIT_STAGES:
            agencies = sorted(family.units)
            if agencies:
                found.append((total_key(p, stage), tuple((p, stage, "agency", a) for a in agencies)))
            for agency in agencies:
                units = tuple((p, stage, "unit", f"{agency}/{u}") for u in sorted(family.units[agency]))
                found.append(((p, stage, "agency", agency), units))
    unit_cells = [("agency", a) for a in family.units] + [
        ("unit", f"{a}/{u}") for a, units in family.units.items() for u in units
    ]
    for period in periods:
        parts = period.parts()
        if not parts:
            continue
        for stage in STAGES:
            extra = unit_cells if stage in UNIT_STAGES else []
            for view, group in [*cells, *extra]:
                found.append(((period.label, stage, view, group), tuple((q.label, stage, view, group) for q in parts)))
    return found
