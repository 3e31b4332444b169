"""The evaluation database: participant-level facts in, facts out to the counting code (never to a caller)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from evaluation.domain.facts import Fact

_ADD = sa.text(
    "INSERT INTO evaluation_facts (event_id, jurisdiction, kind, key, participant_id, at, data) "
    "VALUES (:event_id, :jurisdiction, :kind, :key, :participant_id, :at, CAST(:data AS jsonb)) "
    "ON CONFLICT (event_id) DO NOTHING"
)
_OF_SITE = sa.text(
    "SELECT kind, key, participant_id, at, data FROM evaluation_facts WHERE jurisdiction = :jurisdiction "
    "ORDER BY at, event_id"
)


async def add_all(conn: AsyncConnection, rows: Sequence[tuple[str, str, Fact]]) -> None:
    """Keep facts as (event id, jurisdiction, fact); one already kept under its event id is left as it is."""
    if not rows:
        return
    await conn.execute(
        _ADD,
        [
            {
                "event_id": event_id,
                "jurisdiction": jurisdiction,
                "kind": fact.kind,
                "key": fact.key,
                "participant_id": fact.participant_id,
                "at": fact.at,
                "data": json.dumps(fact.data),
            }
            for event_id, jurisdiction, fact in rows
        ],
    )


async def facts(conn: AsyncConnection, jurisdiction: str) -> list[Fact]:
    rows = (await conn.execute(_OF_SITE, {"jurisdiction": jurisdiction})).mappings()
    return [Fact(r["kind"], r["key"], r["at"], r["participant_id"], dict(r["data"])) for r in rows]


_VERSION = sa.text(
    "SELECT (SELECT count(*) FROM evaluation_facts WHERE jurisdiction = :jurisdiction) AS facts, "
    "(SELECT count(*) FROM evaluation_suppressed_cells WHERE jurisdiction = :jurisdiction AND year = :year) "
    "AS suppressed"
)
_SUPPRESSED = sa.text(
    "SELECT period, stage, view, grp FROM evaluation_suppressed_cells WHERE jurisdiction = :jurisdiction "
    "AND year = :year"
)
_SUPPRESS = sa.text(
    "INSERT INTO evaluation_suppressed_cells (jurisdiction, year, period, stage, view, grp) "
    "VALUES (:jurisdiction, :year, :period, :stage, :view, :grp) ON CONFLICT DO NOTHING"
)
Cell = tuple[str, str, str, str]  # (period, stage, view, group)


async def version(conn: AsyncConnection, jurisdiction: str, year: int) -> tuple[int, int]:
    """What a computed release depends on: facts are only ever added, suppressed cells too, so counts suffice."""
    row = (await conn.execute(_VERSION, {"jurisdiction": jurisdiction, "year": year})).one()
    return int(row.facts), int(row.suppressed)


async def suppressed(conn: AsyncConnection, jurisdiction: str, year: int) -> set[Cell]:
    rows = await conn.execute(_SUPPRESSED, {"jurisdiction": jurisdiction, "year": year})
    return {(r.period, r.stage, r.view, r.grp) for r in rows}


async def keep_suppressed(conn: AsyncConnection, jurisdiction: str, year: int, cells: set[Cell]) -> None:
    """Add cells to the year's suppressed set; ones already there stay as they are (so it only grows)."""
    if cells:
        params = [
            {"jurisdiction": jurisdiction, "year": year, "period": p, "stage": s, "view": v, "grp": g}
            for p, s, v, g in sorted(cells)
        ]
        await conn.execute(_SUPPRESS, params)
