"""One view of the continuum: the year's family counted and suppressed together, then the rows asked for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from evaluation.adapters import store
from evaluation.domain import continuum, rows, suppression
from evaluation.domain.facts import assemble
from evaluation.domain.periods import Period


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
    async with engine.connect() as conn:
        facts = await store.facts(conn, jurisdiction)
    contacts, paths = assemble(facts, time_zone)
    family = continuum.count(contacts, paths, period.year, now)
    hidden = suppression.suppress(family.values, continuum.equations(family))
    if by == "unit":
        assert agency is not None
        return rows.units(family, hidden, period.label, agency)
    return rows.continuum(family, hidden, period.label, by, reference)
