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
