"""Linked participants, enrolment as case management reports it, and the daily views' queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from divert_contracts.referral import ParticipantsLinked
from referral.domain.linking import Indexed

_REVIEW = sa.text(
    "SELECT jurisdiction, participant_id::text, candidate_participant_ids::text[] AS candidates, status "
    "FROM person_match_reviews "
    "WHERE review_id = CAST(:review_id AS uuid) AND jurisdiction = ANY(CAST(:jurisdictions AS text[]))"
)
_INDEXED = sa.text(
    "SELECT participant_id::text, created_at FROM persons WHERE participant_id = CAST(:participant_id AS uuid)"
)
_RESOLVE = sa.text(
    "UPDATE person_match_reviews SET status = 'resolved', resolution = :resolution, resolved_by = :by, "
    "resolved_at = :at WHERE review_id = CAST(:review_id AS uuid) AND status = 'open' RETURNING review_id"
)
_LINK = sa.text(
    "INSERT INTO participant_links (merged_participant_id, survivor_participant_id, jurisdiction, review_id, "
    "linked_at) VALUES (CAST(:merged AS uuid), CAST(:survivor AS uuid), :jurisdiction, CAST(:review_id AS uuid), :at)"
)
# Links stay one hop deep: whatever pointed at the merged participant now points at the survivor.
_FLATTEN = sa.text(
    "UPDATE participant_links SET survivor_participant_id = CAST(:survivor AS uuid) "
    "WHERE survivor_participant_id = CAST(:merged AS uuid)"
)
_ENROLMENT = sa.text(
    """
    INSERT INTO participant_enrolment (participant_id, enrolment, not_enrolled_reason, changed_at)
    VALUES (CAST(:participant_id AS uuid), :enrolment, :reason, :at)
    ON CONFLICT (participant_id) DO UPDATE SET enrolment = EXCLUDED.enrolment,
        not_enrolled_reason = EXCLUDED.not_enrolled_reason, changed_at = EXCLUDED.changed_at
    WHERE participant_enrolment.changed_at <= EXCLUDED.changed_at
    """
)
# The survivor's and every merged participant's referrals, newest first: the field lookup and the caseload
# answer for the one person.
_PERSON_REFERRALS = """
    SELECT r.referral_id::text, r.jurisdiction, r.referring_agency, r.referral_type, r.status, r.handoff_agency,
           COALESCE(r.case_manager_id, r.handoff_case_manager) AS case_manager_id, r.intake_completed_at,
           r.created_at, COALESCE(l.survivor_participant_id, r.participant_id)::text AS participant_id,
           e.enrolment, e.not_enrolled_reason, p.first_name, p.last_name, p.date_of_birth
    FROM referrals r
    LEFT JOIN participant_links l ON l.merged_participant_id = r.participant_id
    JOIN persons p ON p.participant_id = COALESCE(l.survivor_participant_id, r.participant_id)
    LEFT JOIN participant_enrolment e ON e.participant_id = COALESCE(l.survivor_participant_id, r.participant_id)
"""
_BY_RMS_ID = sa.text(
    f"""{_PERSON_REFERRALS}
    WHERE COALESCE(l.survivor_participant_id, r.participant_id) = (
        SELECT COALESCE(l2.survivor_participant_id, r2.participant_id) FROM referrals r2
        LEFT JOIN participant_links l2 ON l2.merged_participant_id = r2.participant_id
        WHERE r2.jurisdiction = :jurisdiction AND r2.referring_agency = :agency AND r2.rms_person_id = :rms_person_id
        ORDER BY r2.created_at DESC LIMIT 1)
    ORDER BY r.created_at DESC
    """
)
_CASELOAD = sa.text(
    f"""{_PERSON_REFERRALS}
    WHERE r.jurisdiction = :jurisdiction AND r.handoff_agency = :agency
      AND COALESCE(r.case_manager_id, r.handoff_case_manager) = :case_manager_id
    ORDER BY r.created_at DESC
    """
)
_DISCRETION = sa.text(
    """
    SELECT record_id::text, jurisdiction, offense_codes, reason, officer_badge, race, ethnicity, gender, age_band,
           recorded_by, recorded_at
    FROM discretion_records
    WHERE jurisdiction = :jurisdiction AND recorded_by = :agency
      AND (CAST(:after AS uuid) IS NULL OR record_id > CAST(:after AS uuid))
    ORDER BY record_id LIMIT :limit
    """
)


async def review(conn: AsyncConnection, review_id: str, jurisdictions: list[str]) -> dict[str, Any] | None:
    row = (await conn.execute(_REVIEW, {"review_id": review_id, "jurisdictions": jurisdictions})).mappings().first()
    return dict(row) if row else None


async def indexed(conn: AsyncConnection, participant_id: str) -> Indexed:
    row = (await conn.execute(_INDEXED, {"participant_id": participant_id})).one()
    return Indexed(row.participant_id, row.created_at)


async def resolve_review(conn: AsyncConnection, review_id: str, resolution: str, by: str, at: datetime) -> bool:
    """Mark an open review resolved; False when it was resolved meanwhile."""
    done = await conn.execute(_RESOLVE, {"review_id": review_id, "resolution": resolution, "by": by, "at": at})
    return done.first() is not None


async def link(conn: AsyncConnection, jurisdiction: str, linked: ParticipantsLinked) -> None:
    ids = {"merged": linked.merged_participant_id, "survivor": linked.survivor_participant_id}
    await conn.execute(_FLATTEN, ids)
    await conn.execute(
        _LINK, {**ids, "jurisdiction": jurisdiction, "review_id": linked.review_id, "at": linked.linked_at}
    )


async def enrolment(
    conn: AsyncConnection, participant_id: str, enrolment: str, reason: str | None, at: datetime
) -> None:
    await conn.execute(
        _ENROLMENT, {"participant_id": participant_id, "enrolment": enrolment, "reason": reason, "at": at}
    )


async def by_rms_id(conn: AsyncConnection, jurisdiction: str, agency: str, rms_person_id: str) -> list[dict[str, Any]]:
    """The person the agency indexed under its own RMS id: every referral of theirs, newest first."""
    params = {"jurisdiction": jurisdiction, "agency": agency, "rms_person_id": rms_person_id}
    return [dict(r) for r in (await conn.execute(_BY_RMS_ID, params)).mappings()]


async def caseload(conn: AsyncConnection, jurisdiction: str, agency: str, case_manager_id: str) -> list[dict[str, Any]]:
    params = {"jurisdiction": jurisdiction, "agency": agency, "case_manager_id": case_manager_id}
    return [dict(r) for r in (await conn.execute(_CASELOAD, params)).mappings()]


async def discretion_after(
    conn: AsyncConnection, jurisdiction: str, agency: str, after: str | None, limit: int
) -> list[dict[str, Any]]:
    params = {"jurisdiction": jurisdiction, "agency": agency, "after": after, "limit": limit}
    return [dict(r) for r in (await conn.execute(_DISCRETION, params)).mappings()]
