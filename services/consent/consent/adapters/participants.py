"""The participants a jurisdiction has (learned from its referrals): a site grant never reaches beyond them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_NOTE = sa.text(
    "INSERT INTO known_participants (jurisdiction, participant_id, since) "
    "VALUES (:jurisdiction, CAST(:participant_id AS uuid), :since) ON CONFLICT DO NOTHING"
)
_KNOWN = sa.text(
    """
    SELECT participant_id::text FROM known_participants
    WHERE jurisdiction = :jurisdiction AND participant_id = ANY(CAST(:ids AS uuid[]))
    UNION
    SELECT participant_id::text FROM participant_relations
    WHERE jurisdiction = :jurisdiction AND participant_id = ANY(CAST(:ids AS uuid[]))
    """
)


async def note(conn: AsyncConnection, jurisdiction: str, participant_id: str, since: datetime) -> None:
    await conn.execute(_NOTE, {"jurisdiction": jurisdiction, "participant_id": participant_id, "since": since})


async def known(conn: AsyncConnection, jurisdiction: str, participant_ids: Sequence[str]) -> set[str]:
    """Which of these ids are participants of the jurisdiction (a malformed id is simply unknown)."""
    ids = [p for p in dict.fromkeys(participant_ids) if _is_uuid(p)]
    if not ids:
        return set()
    return set((await conn.execute(_KNOWN, {"jurisdiction": jurisdiction, "ids": ids})).scalars())


def _is_uuid(value: str) -> bool:
    from uuid import UUID

    try:
        UUID(value)
    except ValueError:
        return False
    return True
