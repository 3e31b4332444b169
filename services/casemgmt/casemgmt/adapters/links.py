"""Person matches: a merged participant id answers for its survivor, in every read and write."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_SURVIVOR = sa.text(
    "SELECT survivor_participant_id::text FROM participant_aliases WHERE merged_participant_id = CAST(:id AS uuid)"
)
_LINK = sa.text(
    """
    INSERT INTO participant_aliases (merged_participant_id, survivor_participant_id, review_id, linked_at)
    VALUES (CAST(:merged AS uuid), CAST(:survivor AS uuid), :review_id, :linked_at)
    ON CONFLICT (merged_participant_id) DO NOTHING
    """
)
# An earlier merge into the record now merged moves on to the survivor: no alias points at an alias.
_FOLLOW = sa.text(
    "UPDATE participant_aliases SET survivor_participant_id = CAST(:survivor AS uuid) "
    "WHERE survivor_participant_id = CAST(:merged AS uuid)"
)
# The merged record's care records (kept by the command handlers, never rebuilt) join the survivor's where the
# survivor has none of its own; its read-model rows move with the CaseMerged projection (`move_rows`).
_MOVE_RECORDS = [
    "UPDATE contacts SET participant_id = CAST(:survivor AS uuid) WHERE participant_id = CAST(:merged AS uuid)",
    "UPDATE initial_screenings SET participant_id = CAST(:survivor AS uuid) WHERE participant_id = CAST(:merged AS uuid) "
    "AND NOT EXISTS (SELECT 1 FROM initial_screenings WHERE participant_id = CAST(:survivor AS uuid))",
    "UPDATE plan_versions SET participant_id = CAST(:survivor AS uuid) WHERE participant_id = CAST(:merged AS uuid) "
    "AND NOT EXISTS (SELECT 1 FROM plan_versions WHERE participant_id = CAST(:survivor AS uuid))",
    "UPDATE consent_to_participate SET participant_id = CAST(:survivor AS uuid) "
    "WHERE participant_id = CAST(:merged AS uuid) "
    "AND NOT EXISTS (SELECT 1 FROM consent_to_participate WHERE participant_id = CAST(:survivor AS uuid))",
]
_MOVE_ROWS = [
    "UPDATE participant_referrals SET participant_id = CAST(:survivor AS uuid) "
    "WHERE participant_id = CAST(:merged AS uuid)",
    "UPDATE participants s SET holder = m.holder FROM participants m WHERE s.participant_id = CAST(:survivor AS uuid) "
    "AND m.participant_id = CAST(:merged AS uuid) AND s.holder IS NULL",
]


async def survivor(conn: AsyncConnection, participant_id: str) -> str:
    """The id that answers for `participant_id`: its survivor if it was merged, else itself."""
    found = (await conn.execute(_SURVIVOR, {"id": participant_id})).scalar()
    return str(found) if found else participant_id


async def link(conn: AsyncConnection, merged: str, survivor_id: str, review_id: str, linked_at: datetime) -> None:
    """Record the alias (a projection of ParticipantsLinked)."""
    ids = {"merged": merged, "survivor": survivor_id}
    await conn.execute(_LINK, ids | {"review_id": review_id, "linked_at": linked_at})
    await conn.execute(_FOLLOW, ids)


async def move_records(conn: AsyncConnection, merged: str, survivor_id: str) -> None:
    for statement in _MOVE_RECORDS:
        await conn.execute(sa.text(statement), {"merged": merged, "survivor": survivor_id})


async def move_rows(conn: AsyncConnection, merged: str, survivor_id: str) -> None:
    for statement in _MOVE_ROWS:
        await conn.execute(sa.text(statement), {"merged": merged, "survivor": survivor_id})
