"""No suppressed count can be recovered from what is published: every view of a period, the months within their
quarter and year, the quarters within the year, the stage sums and the police per-unit views, as one linear system.

The check is written apart from the code it checks: its own list of relations, read off the published keys, and
its own elimination (modulo a large prime, exact integers; a rational dependency survives it).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation.domain.continuum import count, equations
from evaluation.domain.facts import Fact, assemble
from evaluation.domain.suppression import primary, suppress

P = (1 << 61) - 1
NOW = datetime(2027, 6, 1, tzinfo=UTC)
REASONS = ("declined_by_person", "victim_requests_prosecution", "safety_concern", "outstanding_warrant")
REASONS += ("under_supervision", "officer_judgment", "other")
STAGE_SUMS = {
    "not_diverted": tuple(f"not_diverted.{r}" for r in REASONS),
    "referred": ("offered", "social_contact_submitted"),
    "enrolled": ("enrolled_within_window", "enrolled_after_window"),
    **{f"retention_due_{m}m": (f"active_{m}m", f"inactive_{m}m", f"exited_{m}m") for m in (3, 6, 12)},
}


def relations(keys: set) -> list[tuple[tuple, list[tuple]]]:  # type: ignore[type-arg]
    """Every `whole = sum(parts)` an outsider could write down from the published keys."""
    found = []
    groups: dict = defaultdict(list)
    for period, stage, view, group in keys:
        if view not in ("total", "unit"):
            groups[(period, stage, view)].append((period, stage, view, group))
        if view == "unit":
            groups[(period, stage, "unit-of", group.split("/")[0])].append((period, stage, view, group))
    for (period, stage, view, *agency), parts in groups.items():
        whole = (period, stage, "agency", agency[0]) if view == "unit-of" else (period, stage, "total", "total")
        found.append((whole, parts))
    for period, stage, view, group in keys:
        if "-" in period:  # a month: its quarter, and the year directly
            quarter = f"{period[:4]}Q{(int(period[5:]) - 1) // 3 + 1}"
            found.append(((quarter, stage, view, group), [k for k in _months_of(quarter, stage, view, group)]))
            found.append(
                (
                    (period[:4], stage, view, group),
                    [(f"{period[:4]}-{m:02d}", stage, view, group) for m in range(1, 13)],
                )
            )
        elif "Q" in period:
            found.append(
                ((period[:4], stage, view, group), [(f"{period[:4]}Q{q}", stage, view, group) for q in range(1, 5)])
            )
        if stage in STAGE_SUMS:
            found.append(((period, stage, view, group), [(period, s, view, group) for s in STAGE_SUMS[stage]]))
    return [(w, parts) for w, parts in found if w in keys and all(p in keys for p in parts)]


def _months_of(quarter: str, stage: str, view: str, group: str) -> list[tuple]:  # type: ignore[type-arg]
    q = int(quarter[-1])
    return [(f"{quarter[:4]}-{m:02d}", stage, view, group) for m in range(3 * q - 2, 3 * q + 1)]


def recoverable(values: dict, hidden: set) -> set:  # type: ignore[type-arg]
    """Hidden cells the published relations pin down: reduced rows with a single entry, mod P."""
    return pinned(relations(set(values)), hidden)


def pinned(found: list, hidden: set) -> set:  # type: ignore[type-arg]
    """Hidden cells the relations `whole = sum(parts)` pin down (published cells are constants)."""
    basis: dict = {}
    for whole, parts in found:
        row: dict = defaultdict(int)
        for cell, sign in [(whole, 1), *((p, -1) for p in parts)]:
            if cell in hidden:
                row[cell] = (row[cell] + sign) % P
        row = {k: v for k, v in row.items() if v}
        for pivot in sorted((k for k in row if k in basis), key=repr):
            if pivot in row:
                f = row[pivot]
                for col, v in basis[pivot].items():
                    row[col] = (row.get(col, 0) - f * v) % P
                row = {k: v for k, v in row.items() if v}
        if not row:
            continue
        pivot = min(row, key=repr)
        inverse = pow(row[pivot], P - 2, P)
        row = {k: v * inverse % P for k, v in row.items()}
        for other, orow in basis.items():
            if pivot in orow:
                f = orow[pivot]
                for col, v in row.items():
                    orow[col] = (orow.get(col, 0) - f * v) % P
                basis[other] = {k: v for k, v in orow.items() if v}
        basis[pivot] = row
    return {pivot for pivot, row in basis.items() if len(row) == 1}


RECORD = st.tuples(
    # A few days (two in one quarter, one per other quarter), so months, quarters and the year all fill up.
    st.sampled_from([10, 40, 100, 280, 300, 200]),
    st.sampled_from(["white", "black", "asian", "unknown"]),
    st.sampled_from(["hispanic_or_latino", "not_hispanic_or_latino"]),
    st.sampled_from(["arrest_diversion", "social_contact"]),
    st.sampled_from([("seattle-pd", "north"), ("seattle-pd", None), ("kc-sheriff", "south"), ("community", None)]),
    st.integers(-1, 3),  # not diverted, or how far along: screened only, referred, handed off, enrolled
    st.integers(1, 14),  # how many people alike: big and small cells side by side
)


def facts_of(records: list[tuple]) -> list[Fact]:  # type: ignore[type-arg]
    facts = []
    alike = [(record, n) for record, (*_, copies) in zip(records, records, strict=True) for n in range(copies)]
    for i, ((day, race, ethnicity, kind, (agency, unit), depth, _), _n) in enumerate(alike):
        at = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=day)
        codes = {"race": race, "ethnicity": ethnicity, "gender": "female", "age_band": "25-34", "referral_type": kind}
        if depth < 0:
            reason = REASONS[day % 3]
            facts.append(Fact("not_diverted", f"d{i}", at, data={**codes, "reason": reason}))
            continue
        facts.append(Fact("screened", f"s{i}", at, data={**codes, "eligible": True}))
        if depth >= 1:
            referral = {**codes, "referring_agency": agency, "officer_unit": unit, "intake_deadline": "2026-06-01"}
            facts.append(Fact("referred", f"r{i}", at, f"p{i}", referral))
        if depth >= 2:
            facts.append(Fact("handed_off", f"r{i}", at, f"p{i}"))
        if depth >= 3:
            facts.append(Fact("intake", f"p{i}", at + timedelta(days=3), f"p{i}", {"referral_ids": [f"r{i}"]}))
    return facts


def family_of(records):  # type: ignore[no-untyped-def]
    contacts, paths = assemble(facts_of(records))
    return count(contacts, paths, 2026, NOW)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORD, min_size=1, max_size=20))
def test_no_suppressed_count_is_recoverable_from_any_published_view(records) -> None:  # type: ignore[no-untyped-def]
    family = family_of(records)
    hidden = suppress(family.values, equations(family))
    assert primary(family.values) <= hidden
    assert recoverable(family.values, hidden) == set()


def test_the_check_finds_what_primary_suppression_alone_leaves_open() -> None:
    # One black participant among twenty white ones: without partners, total minus white gives the one away.
    records = [(280, "white", "not_hispanic_or_latino", "arrest_diversion", ("seattle-pd", "north"), 1, 20)]
    records.append((280, "black", "not_hispanic_or_latino", "arrest_diversion", ("seattle-pd", "north"), 1, 1))
    family = family_of(records)
    assert ("2026-10", "screened", "race", "black") in recoverable(family.values, primary(family.values))
    assert recoverable(family.values, suppress(family.values, equations(family))) == set()


# Two releases of the same year read together: t1, then t2 = t1 plus additions the reader knows (say, a referral
# they made themselves). Each cell's t2 value is its t1 value plus a known amount, so the union of both releases'
# equations is one system; no cell suppressed at t1 may be pinned down by it.
def union_recoverable(first: dict, hidden1: set, second: dict, hidden2: set) -> set:  # type: ignore[type-arg]
    found = [((1, w), [(1, p) for p in parts]) for w, parts in relations(set(first))]
    found += [((2, w), [(2, p) for p in parts]) for w, parts in relations(set(second))]
    found += [((2, k), [(1, k)]) for k in set(first) & set(second)]  # t2 = t1 + a known addition
    hidden = {(1, k) for k in hidden1} | {(2, k) for k in hidden2}
    return {k for release, k in pinned(found, hidden) if release == 1}


def releases(first: list, added: list) -> tuple[dict, set, dict, set]:  # type: ignore[type-arg]
    """Both releases as the service makes them: t2 starts from every cell suppressed at t1."""
    one, two = family_of(first), family_of(first + added)
    hidden1 = suppress(one.values, equations(one))
    return one.values, hidden1, two.values, suppress(two.values, equations(two), forced=hidden1)


def test_the_red_teams_two_readings_recover_nothing() -> None:
    # t1: 17 white, 13 asian, 3 black referred: black is small, asian its partner. t2: one more, of race other.
    # Re-suppressed from scratch, t2 hid black and other and showed asian: 33 - 17 - 13 = 3 black.
    cell = ("seattle-pd", "north")
    first = [(280, race, "not_hispanic_or_latino", "arrest_diversion", cell, 1, n) for race, n in RACE_COUNTS]
    added = [(280, "other", "not_hispanic_or_latino", "arrest_diversion", cell, 1, 1)]
    v1, hidden1, v2, hidden2 = releases(first, added)
    asian, black = ("2026", "referred", "race", "asian"), ("2026", "referred", "race", "black")
    assert {asian, black} <= hidden1
    assert asian in hidden2
    assert union_recoverable(v1, hidden1, v2, hidden2) == set()


RACE_COUNTS = (("white", 17), ("asian", 13), ("black", 3))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORD, min_size=1, max_size=12), st.lists(RECORD, min_size=1, max_size=4))
def test_no_count_suppressed_at_t1_is_recoverable_from_both_releases(first, added) -> None:  # type: ignore[no-untyped-def]
    v1, hidden1, v2, hidden2 = releases(first, added)
    assert hidden1 <= hidden2
    assert union_recoverable(v1, hidden1, v2, hidden2) == set()
