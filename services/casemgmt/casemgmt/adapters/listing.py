"""Participant lists: the rows a caller might be served, over the case-management read model.

Which of them is served is decided per row by divert_kernel.access; the query only leaves out rows that no
decision could serve (neither held by the caller nor in the consent service's scope for it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_CANDIDATES = sa.text(
    """
    SELECT participant_id::text, jurisdiction, holder, enrolment, not_enrolled_reason, status, intake_status,
        intake_deadline, intake_target, intake_completed_at, case_manager_id
    FROM participants
    WHERE jurisdiction = :jurisdiction
      AND NOT EXISTS (SELECT 1 FROM participant_aliases a WHERE a.merged_participant_id = participants.participant_id)
      AND (CAST(:enrolment AS text) IS NULL OR enrolment = :enrolment)
      AND (CAST(:status AS text) IS NULL OR status = :status)
      AND (CAST(:intake_status AS text) IS NULL OR intake_status = :intake_status)
      AND (holder = :agency OR :everyone OR participant_id = ANY(CAST(:ids AS uuid[])))
    ORDER BY participant_id
    """
)


@dataclass(frozen=True)
class Filters:
    jurisdiction: str
    enrolment: str | None
    status: str | None
    intake_status: str | None
    agency: str
    everyone: bool
    participant_ids: Sequence[str]

    def params(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.jurisdiction,
            "enrolment": self.enrolment,
            "status": self.status,
            "intake_status": self.intake_status,
            "agency": self.agency,
            "everyone": self.everyone,
            "ids": list(self.participant_ids),
        }


async def candidates(conn: AsyncConnection, filters: Filters) -> list[dict[str, Any]]:
    """Rows held by the caller's agency or in its scope, in participant-id order (the cursor's order)."""
    return [dict(r) for r in (await conn.execute(_CANDIDATES, filters.params())).mappings()]
