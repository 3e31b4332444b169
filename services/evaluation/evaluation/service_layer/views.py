"""One view of the continuum: the year's family counted and suppressed together, then the rows asked for.

Suppression is monotone over releases. Each computation starts from every cell of the year ever suppressed
(evaluation_suppressed_cells), adds primary and complementary suppression as `suppression.suppress` does, and
keeps what it added. Recomputing from scratch would let the complementary choice move as data arrive: a cell
hidden yesterday as a partner, shown today, turns yesterday's `total - shown` into an exact count. With the set
only growing, every cell suppressed in one release is suppressed in each later one, and a later release's
relations over those cells are the earlier release's relations shifted by the new data; a reader who knows what
was added (their own referral, say) learns no exact suppressed count from the two together.

What remains: bounds, not exact values. Counts are non-negative, so a reader can narrow a suppressed cell to an
interval (and a known addition can narrow it further); and the set grows with every release, so more cells go
dark over a year as the data move.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from evaluation.adapters import store
from evaluation.domain import continuum, rows, suppression
from evaluation.domain.continuum import Family, Key
from evaluation.domain.facts import assemble
from evaluation.domain.periods import Period

CACHED = 32  # releases kept: a year per jurisdiction, a few over


@dataclass(frozen=True)
class Release:
    family: Family
    hidden: frozenset[Key]


# (database, jurisdiction, year, time zone, day, (facts, suppressed cells)) -> the release computed for it. Facts
# and suppressed cells are only ever added, so their counts say whether anything changed since.
_releases: OrderedDict[tuple[object, ...], Release] = OrderedDict()


async def continuum_rows(
    engine: AsyncEngine,
    jurisdiction: str,
    period: Period,
    by: str,
    *,
    now: datetime,
    time_zone: str,
    reference: dict[str, str],
    agency: str | None = None,
) -> list[rows.Row]:
    """Rows of one view. Suppression is decided over every view of every period of the year at once, so the
    answer is the same whichever view is asked first and no two views together undo it."""
    found = await release(engine, jurisdiction, period.year, now=now, time_zone=time_zone)
    hidden = set(found.hidden)
    if by == "unit":
        assert agency is not None
        return rows.units(found.family, hidden, period.label, agency)
    return rows.continuum(found.family, hidden, period.label, by, reference)


async def release(engine: AsyncEngine, jurisdiction: str, year: int, *, now: datetime, time_zone: str) -> Release:
    """The year's counts and suppressed cells, computed once per change of data (or of day)."""
    # Retention marks are counted as of the start of the day, so a cached release stays right all day.
    as_of = now.replace(hour=0, minute=0, second=0, microsecond=0)
    key = (engine.url.render_as_string(hide_password=True), jurisdiction, year, time_zone, as_of)
    async with engine.connect() as conn:
        seen = _releases.get((*key, await store.version(conn, jurisdiction, year)))
        if seen is not None:
            return seen
        forced = await store.suppressed(conn, jurisdiction, year)
        facts = await store.facts(conn, jurisdiction)
    contacts, paths = assemble(facts, time_zone)
    family = continuum.count(contacts, paths, year, as_of)
    hidden = suppression.suppress(family.values, continuum.equations(family), forced=forced)
    async with engine.begin() as conn:
        await store.keep_suppressed(conn, jurisdiction, year, hidden - forced)
    made = Release(family, frozenset(hidden))
    _releases[(*key, (len(facts), len(forced | hidden)))] = made
    while len(_releases) > CACHED:
        _releases.popitem(last=False)
    return made
