"""Participants read model in the case-management agency's own database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_UPSERT_PARTICIPANT = sa.text(
    """
    INSERT INTO participants (participant_id, jurisdiction, status, intake_status, intake_deadline, updated_at)
    VALUES (CAST(:participant_id AS uuid), :jurisdiction, 'active', :intake_status, :intake_deadline, :now)
    ON CONFLICT (participant_id) DO UPDATE
    SET intake_status = EXCLUDED.intake_status, intake_deadline = EXCLUDED.intake_deadline, updated_at = :now
    """
)
_ADD_REFERRAL = sa.text(
    """
    INSERT INTO participant_referrals (referral_id, participant_id, referral_type, intake_deadline)
    VALUES (CAST(:referral_id AS uuid), CAST(:participant_id AS uuid), :referral_type, :intake_deadline)
    ON CONFLICT DO NOTHING
    """
)
_COMPLETE = sa.text(
    """
    UPDATE participant_referrals SET intake_completed_at = :completed_at
    WHERE referral_id = ANY(CAST(:referral_ids AS uuid[]));
    """
)
_PARTICIPANT_INTAKE = sa.text(
    """
    UPDATE participants
    SET intake_status = :intake_status, intake_deadline = :intake_deadline,
        intake_completed_at = COALESCE(:completed_at, intake_completed_at), updated_at = :now
    WHERE participant_id = CAST(:participant_id AS uuid)
    """
)
_STATUS = sa.text(
    "UPDATE participants SET status = :status, status_reason = :reason, updated_at = :now "
    "WHERE participant_id = CAST(:participant_id AS uuid)"
)
_HOLDER = sa.text(
    "UPDATE participants SET holder = :holder, updated_at = :now WHERE participant_id = CAST(:participant_id AS uuid)"
)
_ADD_EXTENSION = sa.text(
    """
    INSERT INTO intake_extensions
        (participant_id, extended_at, from_deadline, to_deadline, granted_by, law_enforcement_agency, reason)
    VALUES (CAST(:participant_id AS uuid), :extended_at, :from_deadline, :to_deadline, :granted_by,
        :law_enforcement_agency, :reason)
    """
)
_GET = sa.text(
    """
    SELECT participant_id::text, jurisdiction, holder, status, intake_status, intake_deadline, intake_completed_at,
        updated_at
    FROM participants WHERE participant_id = CAST(:participant_id AS uuid)
    """
)


async def record_referral(
    conn: AsyncConnection,
    *,
    participant_id: str,
    jurisdiction: str,
    referral_id: str,
    referral_type: str,
    intake_deadline: date | None,
    participant_deadline: date | None,
    now: datetime,
) -> None:
    await conn.execute(
        _UPSERT_PARTICIPANT,
        {
            "participant_id": participant_id,
            "jurisdiction": jurisdiction,
            "intake_status": "pending",
            "intake_deadline": participant_deadline,
            "now": now,
        },
    )
    await conn.execute(
        _ADD_REFERRAL,
        {
            "referral_id": referral_id,
            "participant_id": participant_id,
            "referral_type": referral_type,
            "intake_deadline": intake_deadline,
        },
    )


async def record_intake(
    conn: AsyncConnection, participant_id: str, referral_ids: list[str], completed_at: datetime, now: datetime
) -> None:
    await conn.execute(_COMPLETE, {"referral_ids": referral_ids, "completed_at": completed_at})
    await conn.execute(
        _PARTICIPANT_INTAKE,
        {
            "participant_id": participant_id,
            "intake_status": "completed",
            "intake_deadline": None,
            "completed_at": completed_at,
            "now": now,
        },
    )


async def record_status(conn: AsyncConnection, participant_id: str, status: str, reason: str, now: datetime) -> None:
    await conn.execute(_STATUS, {"participant_id": participant_id, "status": status, "reason": reason, "now": now})


async def get(conn: AsyncConnection, participant_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_GET, {"participant_id": participant_id})).mappings().first()
    return dict(row) if row else None


_DEADLINE = sa.text(
    "UPDATE participants SET intake_deadline = :intake_deadline, updated_at = :now "
    "WHERE participant_id = CAST(:participant_id AS uuid)"
)


async def record_deadline(
    conn: AsyncConnection, participant_id: str, intake_deadline: date | None, now: datetime
) -> None:
    await conn.execute(_DEADLINE, {"participant_id": participant_id, "intake_deadline": intake_deadline, "now": now})


async def record_holder(conn: AsyncConnection, participant_id: str, holder: str | None, now: datetime) -> None:
    await conn.execute(_HOLDER, {"participant_id": participant_id, "holder": holder, "now": now})


async def record_extension(
    conn: AsyncConnection, participant_id: str, from_deadline: date, cmd_fields: dict[str, Any], now: datetime
) -> None:
    await conn.execute(
        _ADD_EXTENSION,
        {"participant_id": participant_id, "from_deadline": from_deadline, "extended_at": now, **cmd_fields},
    )
