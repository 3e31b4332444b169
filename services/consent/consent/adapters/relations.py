"""Who stands in which relation to a participant (from other services' events), and the site's MOU versions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.domain.mou import HANDOFF_PROVIDER, Mou, Term

# Serialises the relation changes of one participant across consumer replicas.
_LOCK = sa.text(
    "SELECT pg_advisory_xact_lock(hashtextextended('relation:' || :jurisdiction || ':' || :participant_id, 0))"
)
_LATEST_HANDOFF = sa.text(
    "SELECT max(since) FROM participant_relations WHERE jurisdiction = :jurisdiction "
    "AND participant_id = CAST(:participant_id AS uuid) AND relation = 'handoff_provider'"
)
_DROP_HANDOFF = sa.text(
    "DELETE FROM participant_relations WHERE jurisdiction = :jurisdiction "
    "AND participant_id = CAST(:participant_id AS uuid) AND relation = 'handoff_provider'"
)
_ADD = sa.text(
    """
    INSERT INTO participant_relations (jurisdiction, participant_id, relation, agency, since, event_id)
    VALUES (:jurisdiction, CAST(:participant_id AS uuid), :relation, :agency, :since, CAST(:event_id AS uuid))
    ON CONFLICT (jurisdiction, participant_id, relation, agency) DO NOTHING
    """
)
_HOLDER = sa.text(
    "SELECT agency FROM participant_relations WHERE jurisdiction = :jurisdiction "
    "AND participant_id = CAST(:participant_id AS uuid) AND relation = 'handoff_provider'"
)
_HELD = sa.text(
    "SELECT participant_id::text FROM participant_relations WHERE jurisdiction = :jurisdiction AND agency = :agency "
    "AND relation = ANY(CAST(:relations AS text[]))"
)
_NEWEST_MOU = sa.text(
    "SELECT jurisdiction, version, approved_by, terms, recorded_at FROM site_mou_versions "
    "WHERE jurisdiction = :jurisdiction ORDER BY version DESC LIMIT 1"
)
_ADD_MOU = sa.text(
    "INSERT INTO site_mou_versions (jurisdiction, version, approved_by, terms, recorded_at) "
    "VALUES (:jurisdiction, :version, :approved_by, CAST(:terms AS jsonb), :recorded_at) ON CONFLICT DO NOTHING"
)


async def set_handoff_provider(
    conn: AsyncConnection,
    jurisdiction: str,
    participant_id: str,
    agency: str,
    since: datetime,
    event_id: str,
    *,
    lock: bool = True,
) -> None:
    """The provider named in the newest hand-off holds the participant; an older hand-off arriving late is ignored.
    `lock`: serialise with other replicas (a rebuild's replay, alone on its copies, does not)."""
    key = {"jurisdiction": jurisdiction, "participant_id": participant_id}
    if lock:
        await conn.execute(_LOCK, key)
    latest = (await conn.execute(_LATEST_HANDOFF, key)).scalar()
    if latest is not None and since < latest:
        return
    await conn.execute(_DROP_HANDOFF, key)
    await conn.execute(
        _ADD, key | {"relation": HANDOFF_PROVIDER, "agency": agency, "since": since, "event_id": event_id}
    )


async def add(
    conn: AsyncConnection,
    jurisdiction: str,
    participant_id: str,
    relation: str,
    agency: str,
    since: datetime,
    event_id: str,
) -> None:
    params = {"jurisdiction": jurisdiction, "participant_id": participant_id, "relation": relation}
    await conn.execute(_ADD, params | {"agency": agency, "since": since, "event_id": event_id})


async def holder(conn: AsyncConnection, jurisdiction: str, participant_id: str) -> str | None:
    """The case-management provider holding the participant in this jurisdiction (None until a hand-off names one)."""
    return (await conn.execute(_HOLDER, {"jurisdiction": jurisdiction, "participant_id": participant_id})).scalar()


async def held_by(conn: AsyncConnection, jurisdiction: str, agency: str, relations: list[str]) -> list[str]:
    """The participants to whom `agency` stands in one of `relations`."""
    params = {"jurisdiction": jurisdiction, "agency": agency, "relations": relations}
    return list((await conn.execute(_HELD, params)).scalars()) if relations else []


async def newest_mou(conn: AsyncConnection, jurisdiction: str) -> Mou | None:
    row = (await conn.execute(_NEWEST_MOU, {"jurisdiction": jurisdiction})).first()
    if row is None:
        return None
    terms = tuple(Term.from_dict(t) for t in row.terms)
    return Mou(row.jurisdiction, row.version, row.approved_by, row.recorded_at, terms)


async def add_mou(
    conn: AsyncConnection, jurisdiction: str, version: int, approved_by: str, terms: list[dict[str, Any]], at: datetime
) -> None:
    params = {"jurisdiction": jurisdiction, "version": version, "approved_by": approved_by, "recorded_at": at}
    await conn.execute(_ADD_MOU, params | {"terms": json.dumps(terms)})
