"""Person matches: a merged participant id answers as its survivor, resolved once where a request or event enters.

Every writer resolves under a shared per-jurisdiction lock and a link takes it exclusively, so nothing is
written under a merged id after the link that moved that id's rows has committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_LOCK_SHARED = sa.text("SELECT pg_advisory_xact_lock_shared(hashtextextended('link:' || :jurisdiction, 0))")
_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended('link:' || :jurisdiction, 0))")
_SURVIVORS = sa.text(
    "SELECT merged_participant_id::text AS merged, survivor_participant_id::text AS survivor "
    "FROM participant_aliases WHERE jurisdiction = :jurisdiction "
    "AND merged_participant_id = ANY(CAST(:ids AS uuid[]))"
)
_REPOINT = sa.text(
    "UPDATE participant_aliases SET survivor_participant_id = CAST(:survivor AS uuid) "
    "WHERE jurisdiction = :jurisdiction AND survivor_participant_id = CAST(:merged AS uuid)"
)
_ADD = sa.text(
    """
    INSERT INTO participant_aliases (jurisdiction, merged_participant_id, survivor_participant_id, review_id,
                                     linked_at, event_id)
    VALUES (:jurisdiction, CAST(:merged AS uuid), CAST(:survivor AS uuid), :review_id, :linked_at,
            CAST(:event_id AS uuid))
    ON CONFLICT (jurisdiction, merged_participant_id) DO UPDATE SET survivor_participant_id = EXCLUDED.survivor_participant_id
    """
)
# What the consent service keeps about the merged record becomes the survivor's. Past decisions stay as decided.
_MOVE = [
    sa.text(
        "UPDATE consent_grants g SET participant_id = CAST(:survivor AS uuid) FROM consents c "
        "WHERE c.consent_id = g.consent_id AND c.jurisdiction = :jurisdiction "
        "AND g.participant_id = CAST(:merged AS uuid)"
    ),
    sa.text(
        "UPDATE consents SET participant_id = CAST(:survivor AS uuid) "
        "WHERE jurisdiction = :jurisdiction AND participant_id = CAST(:merged AS uuid)"
    ),
    sa.text(
        "UPDATE break_glass SET participant_id = CAST(:survivor AS uuid) "
        "WHERE jurisdiction = :jurisdiction AND participant_id = CAST(:merged AS uuid)"
    ),
    sa.text(
        """
        INSERT INTO participant_relations (jurisdiction, participant_id, relation, agency, since, event_id)
        SELECT jurisdiction, CAST(:survivor AS uuid), relation, agency, since, event_id FROM participant_relations
        WHERE jurisdiction = :jurisdiction AND participant_id = CAST(:merged AS uuid)
        ON CONFLICT (jurisdiction, participant_id, relation, agency) DO NOTHING
        """
    ),
    sa.text(
        "DELETE FROM participant_relations WHERE jurisdiction = :jurisdiction "
        "AND participant_id = CAST(:merged AS uuid)"
    ),
    # One provider holds a person: the one named in the newest hand-off of either record.
    sa.text(
        """
        DELETE FROM participant_relations WHERE jurisdiction = :jurisdiction
          AND participant_id = CAST(:survivor AS uuid) AND relation = 'handoff_provider'
          AND (since, agency) < (SELECT since, agency FROM participant_relations
                                 WHERE jurisdiction = :jurisdiction AND participant_id = CAST(:survivor AS uuid)
                                   AND relation = 'handoff_provider' ORDER BY since DESC, agency DESC LIMIT 1)
        """
    ),
]


async def survivors(conn: AsyncConnection, jurisdiction: str, ids: Iterable[str]) -> dict[str, str]:
    """Each id's survivor (itself unless it was merged), without a lock: for reads."""
    asked = sorted(set(ids))
    rows = await conn.execute(_SURVIVORS, {"jurisdiction": jurisdiction, "ids": asked})
    found = {r.merged: r.survivor for r in rows}
    return {i: found.get(i, i) for i in asked}


async def survivor(conn: AsyncConnection, jurisdiction: str, participant_id: str) -> str:
    return (await survivors(conn, jurisdiction, [participant_id]))[participant_id]


async def resolve_many(
    conn: AsyncConnection, jurisdiction: str, ids: Iterable[str], *, lock: bool = True
) -> dict[str, str]:
    """Like `survivors`, for a transaction that will write: no link can commit in between (`lock` False only for
    a rebuild's replay, which no live writer can race)."""
    if lock:
        await lock_shared(conn, jurisdiction)
    return await survivors(conn, jurisdiction, ids)


async def lock_shared(conn: AsyncConnection, jurisdiction: str) -> None:
    """Until the transaction ends, no link in the jurisdiction can commit (one waits for any under way)."""
    await conn.execute(_LOCK_SHARED, {"jurisdiction": jurisdiction})


async def resolve(conn: AsyncConnection, jurisdiction: str, participant_id: str, *, lock: bool = True) -> str:
    return (await resolve_many(conn, jurisdiction, [participant_id], lock=lock))[participant_id]


async def link(
    conn: AsyncConnection,
    jurisdiction: str,
    survivor_id: str,
    merged_id: str,
    review_id: str,
    linked_at: datetime,
    event_id: str,
    *,
    lock: bool = True,
) -> bool:
    """Make `merged_id` (and whatever was merged into it) read as `survivor_id`'s final survivor; False when
    the two already are one participant."""
    if lock:
        await conn.execute(_LOCK, {"jurisdiction": jurisdiction})
    resolved = await survivors(conn, jurisdiction, [survivor_id, merged_id])
    survivor, merged = resolved[survivor_id], resolved[merged_id]
    if survivor == merged:
        return False
    params = {"jurisdiction": jurisdiction, "survivor": survivor, "merged": merged}
    await conn.execute(_REPOINT, params)
    await conn.execute(_ADD, params | {"review_id": review_id, "linked_at": linked_at, "event_id": event_id})
    for statement in _MOVE:
        await conn.execute(statement, params)
    return True
