"""Participant lists: filters, keyset pages and counts over the case-management read model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_WHERE = """
    WHERE jurisdiction = :jurisdiction
      AND (CAST(:status AS text) IS NULL OR status = :status)
      AND (CAST(:intake_status AS text) IS NULL OR intake_status = :intake_status)
      AND (:everyone OR participant_id = ANY(CAST(:ids AS uuid[])))
"""
_PAGE = sa.text(
    "SELECT participant_id::text, jurisdiction, status, intake_status, intake_deadline, intake_completed_at "
    f"FROM participants {_WHERE} AND (CAST(:after AS uuid) IS NULL OR participant_id > CAST(:after AS uuid)) "
    "ORDER BY participant_id LIMIT :limit"
)
_COUNT = sa.text(f"SELECT count(*) FROM participants {_WHERE}")


@dataclass(frozen=True)
class Filters:
    jurisdiction: str
    status: str | None
    intake_status: str | None
    everyone: bool
    participant_ids: Sequence[str]

    def params(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.jurisdiction,
            "status": self.status,
            "intake_status": self.intake_status,
            "everyone": self.everyone,
            "ids": list(self.participant_ids),
        }


async def page(conn: AsyncConnection, filters: Filters, after: str | None, limit: int) -> list[dict[str, Any]]:
    rows = await conn.execute(_PAGE, {**filters.params(), "after": after, "limit": limit})
    return [dict(r) for r in rows.mappings()]


async def count(conn: AsyncConnection, filters: Filters) -> int:
    return int((await conn.execute(_COUNT, filters.params())).scalar() or 0)
