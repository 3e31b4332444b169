"""Participants read model in the case-management agency's own database.

A participant's row mirrors its case as of each of its events (`save_case`, run by the projections); a merged
record's id resolves to the surviving participant's row (`get`), so every read or write by either id answers for
the one person. The consent to take part and intake extensions are records the command handlers keep.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from casemgmt.domain.enrolment import ConsentToParticipate
from casemgmt.domain.model import ParticipantCase

_SAVE_CASE = sa.text(
    """
    INSERT INTO participants (participant_id, jurisdiction, status, enrolment, not_enrolled_reason, intake_status,
        intake_deadline, intake_target, intake_completed_at, case_manager_id, updated_at)
    VALUES (CAST(:participant_id AS uuid), :jurisdiction, :status, :enrolment, :not_enrolled_reason, :intake_status,
        :intake_deadline, :intake_target, :intake_completed_at, :case_manager_id, :now)
    ON CONFLICT (participant_id) DO UPDATE SET status = EXCLUDED.status, enrolment = EXCLUDED.enrolment,
        not_enrolled_reason = EXCLUDED.not_enrolled_reason, intake_status = EXCLUDED.intake_status,
        intake_deadline = EXCLUDED.intake_deadline, intake_target = EXCLUDED.intake_target,
        intake_completed_at = COALESCE(EXCLUDED.intake_completed_at, participants.intake_completed_at),
        case_manager_id = EXCLUDED.case_manager_id, updated_at = EXCLUDED.updated_at
    """
)
_ADD_REFERRAL = sa.text(
    """
    INSERT INTO participant_referrals (referral_id, participant_id, referral_type, intake_deadline, intake_target)
    VALUES (CAST(:referral_id AS uuid), CAST(:participant_id AS uuid), :referral_type, :intake_deadline,
        :intake_target)
    ON CONFLICT DO NOTHING
    """
)
_COMPLETE = sa.text(
    "UPDATE participant_referrals SET intake_completed_at = :completed_at "
    "WHERE referral_id = ANY(CAST(:referral_ids AS uuid[]))"
)
_STATUS_REASON = sa.text(
    "UPDATE participants SET status_reason = :reason WHERE participant_id = CAST(:participant_id AS uuid)"
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
_CONSENT_TO_PARTICIPATE = sa.text(
    """
    INSERT INTO consent_to_participate
        (participant_id, signed_at, signed_document_sha256, roi_consent_id, recorded_by, recorded_at)
    VALUES (CAST(:participant_id AS uuid), :signed_at, :sha256, :roi_consent_id, :recorded_by, :now)
    ON CONFLICT (participant_id) DO UPDATE SET signed_at = EXCLUDED.signed_at,
        signed_document_sha256 = EXCLUDED.signed_document_sha256, roi_consent_id = EXCLUDED.roi_consent_id,
        recorded_by = EXCLUDED.recorded_by, recorded_at = EXCLUDED.recorded_at
    """
)
_GET = sa.text(
    """
    SELECT p.participant_id::text, p.jurisdiction, p.holder, p.status, p.enrolment, p.not_enrolled_reason,
        p.intake_status, p.intake_deadline, p.intake_target, p.intake_completed_at, p.case_manager_id, p.updated_at,
        c.signed_at AS consent_signed_at, c.signed_document_sha256 AS consent_sha256, c.roi_consent_id
    FROM participants p LEFT JOIN consent_to_participate c ON c.participant_id = p.participant_id
    WHERE p.participant_id = COALESCE(
        (SELECT survivor_participant_id FROM participant_aliases WHERE merged_participant_id = CAST(:id AS uuid)),
        CAST(:id AS uuid))
    """
)


async def save_case(conn: AsyncConnection, case: ParticipantCase, now: datetime) -> None:
    """Mirror the case's enrolment, status, deadlines and case manager into its row, as of `now` (its event's time)."""
    await conn.execute(
        _SAVE_CASE,
        {
            "participant_id": case.id,
            "jurisdiction": case.jurisdiction,
            "status": case.status if case.enrolment == "enrolled" else None,
            "enrolment": case.enrolment or "referred",
            "not_enrolled_reason": case.not_enrolled_reason,
            "intake_status": "completed" if case.enrolment == "enrolled" else "pending",
            "intake_deadline": None if case.enrolment == "enrolled" else case.intake_deadline,
            "intake_target": case.intake_target,
            "intake_completed_at": case.intake_completed_at,
            "case_manager_id": case.case_manager_id,
            "now": now,
        },
    )


async def record_referral(
    conn: AsyncConnection,
    participant_id: str,
    referral_id: str,
    referral_type: str,
    intake_deadline: date | None,
    intake_target: date | None,
) -> None:
    params = {"referral_id": referral_id, "participant_id": participant_id, "referral_type": referral_type}
    await conn.execute(_ADD_REFERRAL, params | {"intake_deadline": intake_deadline, "intake_target": intake_target})


async def complete_referrals(conn: AsyncConnection, referral_ids: list[str], completed_at: datetime) -> None:
    await conn.execute(_COMPLETE, {"referral_ids": referral_ids, "completed_at": completed_at})


async def keep_consent(
    conn: AsyncConnection,
    participant_id: str,
    consent: ConsentToParticipate,
    roi_consent_id: str | None,
    recorded_by: str,
    now: datetime,
) -> None:
    """The consent to take part (its hash stays here, never in an event)."""
    await conn.execute(
        _CONSENT_TO_PARTICIPATE,
        {
            "participant_id": participant_id,
            "signed_at": consent.signed_at,
            "sha256": consent.signed_document_sha256,
            "roi_consent_id": roi_consent_id,
            "recorded_by": recorded_by,
            "now": now,
        },
    )


async def record_status_reason(conn: AsyncConnection, participant_id: str, reason: str) -> None:
    await conn.execute(_STATUS_REASON, {"participant_id": participant_id, "reason": reason})


async def get(conn: AsyncConnection, participant_id: str) -> dict[str, Any] | None:
    """The participant's row; a merged record's id gives the surviving participant's row."""
    row = (await conn.execute(_GET, {"id": participant_id})).mappings().first()
    return dict(row) if row else None


async def record_holder(conn: AsyncConnection, participant_id: str, holder: str | None, now: datetime) -> None:
    await conn.execute(_HOLDER, {"participant_id": participant_id, "holder": holder, "now": now})


async def record_extension(
    conn: AsyncConnection, participant_id: str, from_deadline: date, cmd_fields: dict[str, Any], now: datetime
) -> None:
    await conn.execute(
        _ADD_EXTENSION,
        {"participant_id": participant_id, "from_deadline": from_deadline, "extended_at": now, **cmd_fields},
    )
