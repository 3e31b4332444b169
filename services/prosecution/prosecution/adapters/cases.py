"""Legacy and post-diversion cases, their reviews and court dates, and the prosecutor's queue.

`cases`, `case_reviews` and `court_dates` are projections of the case events; what the events do not carry
(charge descriptions, a review's rationale and author) is in `case_records` and `case_review_records`, written by
the command handlers and kept by a rebuild.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from divert_contracts.prosecution import CourtDateScheduled, LegacyCaseRegistered, LegacyCaseReviewed
from prosecution.domain.commands import RegisterCase

_KEEP_CASE_RECORD = sa.text(
    "INSERT INTO case_records (case_id, charges) VALUES (CAST(:case_id AS uuid), CAST(:charges AS jsonb))"
)
_KEEP_REVIEW_RECORD = sa.text(
    "INSERT INTO case_review_records (case_id, stream_version, review_id, rationale, reviewed_by) "
    "VALUES (CAST(:case_id AS uuid), :stream_version, CAST(:review_id AS uuid), :rationale, :reviewed_by)"
)
# A case registered with no record kept (none since 0005, which kept every one) shows its codes alone.
_ADD_CASE = sa.text(
    """
    INSERT INTO cases (case_id, participant_id, jurisdiction, agency, kind, docket_number, court, charges, filed_at,
                       status, registered_at)
    SELECT CAST(:case_id AS uuid), CAST(:participant_id AS uuid), :jurisdiction, :agency, :kind, :docket_number,
           :court, COALESCE(r.charges, CAST(:codes AS jsonb)), :filed_at, 'pending', :registered_at
    FROM (SELECT 1) one LEFT JOIN case_records r ON r.case_id = CAST(:case_id AS uuid)
    """
)
# `seq` is the event's position: reviews of one case at the same instant keep the order they were recorded in.
_ADD_REVIEW = sa.text(
    """
    INSERT INTO case_reviews (review_id, seq, case_id, decision, rationale, reviewed_by, reviewed_at, follow_up_on)
    SELECT r.review_id, :seq, r.case_id, :decision, r.rationale, r.reviewed_by, :reviewed_at, :follow_up_on
    FROM case_review_records r WHERE r.case_id = CAST(:case_id AS uuid) AND r.stream_version = :stream_version
    """
)
_SET_CASE_STATUS = sa.text("UPDATE cases SET status = :status WHERE case_id = CAST(:case_id AS uuid)")
_ADD_COURT_DATE = sa.text(
    """
    INSERT INTO court_dates (court_date_id, case_id, participant_id, jurisdiction, scheduled_for, hearing, court)
    SELECT CAST(:court_date_id AS uuid), c.case_id, CAST(:participant_id AS uuid), :jurisdiction, :scheduled_for,
           :hearing, c.court
    FROM cases c WHERE c.case_id = CAST(:case_id AS uuid)
    """
)
# A case registered under a record later merged reads under the survivor's id.
_GET_CASE = sa.text(
    """
    SELECT c.case_id::text, COALESCE(l.survivor_participant_id, c.participant_id)::text AS participant_id,
           c.jurisdiction, c.agency, c.kind, c.docket_number, c.court, c.charges,
           c.filed_at, c.status, c.registered_at,
           COALESCE((SELECT json_agg(json_build_object('decision', r.decision, 'rationale', r.rationale,
                                                       'reviewed_by', r.reviewed_by, 'reviewed_at', r.reviewed_at,
                                                       'follow_up_on', r.follow_up_on)
                                     ORDER BY r.reviewed_at DESC, r.seq DESC)
                     FROM case_reviews r WHERE r.case_id = c.case_id), '[]') AS reviews,
           COALESCE((SELECT json_agg(json_build_object('court_date_id', d.court_date_id, 'scheduled_for',
                                                       d.scheduled_for, 'hearing', d.hearing, 'court', d.court)
                                     ORDER BY d.scheduled_for)
                     FROM court_dates d WHERE d.case_id = c.case_id), '[]') AS court_dates
    FROM cases c
    LEFT JOIN participant_links l ON l.jurisdiction = c.jurisdiction AND l.merged_participant_id = c.participant_id
    WHERE c.case_id = CAST(:case_id AS uuid)
    """
)
_COURT_DATES = sa.text(
    """
    SELECT d.court_date_id::text, d.case_id::text, d.scheduled_for, d.hearing, d.court, c.docket_number,
           c.jurisdiction, c.agency
    FROM court_dates d JOIN cases c ON c.case_id = d.case_id
    WHERE d.participant_id = ANY(CAST(:participant_ids AS uuid[])) AND d.scheduled_for >= :now
    ORDER BY d.scheduled_for
    """
)
_CASE_OWNERS = sa.text(
    "SELECT DISTINCT jurisdiction, agency FROM cases WHERE participant_id = ANY(CAST(:participant_ids AS uuid[])) "
    "AND agency IS NOT NULL"
)
# The LEAD prosecutor's queue, most pressing first: lapsed windows awaiting a decision, windows closing within
# 7 days, court dates within 14 days, cases not yet reviewed, then continue_to_monitor reviews whose follow-up
# falls within 7 days (or has passed). Dates are the site's local ones. Only the calling office's own records: a
# charge held before offices were named (no agency) is the site's office's (`:site_office`). A merged record's
# rows read under the survivor's id.
_QUEUE = sa.text(
    """
    WITH charges AS (
        SELECT * FROM held_charges
        WHERE jurisdiction = :jurisdiction AND COALESCE(prosecutor_agency, :site_office) = :agency
    ), own_cases AS (
        SELECT * FROM cases WHERE jurisdiction = :jurisdiction AND agency = :agency
    ), latest_reviews AS (
        SELECT DISTINCT ON (r.case_id) r.case_id, r.decision, r.follow_up_on
        FROM case_reviews r JOIN own_cases c ON c.case_id = r.case_id
        ORDER BY r.case_id, r.reviewed_at DESC, r.seq DESC
    )
    SELECT q.rank, q.kind, q.id, COALESCE(l.survivor_participant_id::text, q.participant_id) AS participant_id, q.due
    FROM (
        SELECT 1 AS rank, 'lapsed_awaiting_decision' AS kind, referral_id::text AS id, participant_id::text,
               intake_deadline::timestamptz AS due
        FROM charges WHERE status = 'lapsed'
        UNION ALL
        SELECT 2, 'deadline_within_7_days', referral_id::text, participant_id::text, intake_deadline::timestamptz
        FROM charges WHERE status = 'held' AND intake_deadline BETWEEN :today AND :week
        UNION ALL
        SELECT 3, 'court_date_within_14_days', d.case_id::text, d.participant_id::text, d.scheduled_for
        FROM court_dates d JOIN own_cases c ON c.case_id = d.case_id
        WHERE d.scheduled_for BETWEEN :now AND :fortnight
        UNION ALL
        SELECT 4, 'case_awaiting_review', c.case_id::text, c.participant_id::text, c.registered_at
        FROM own_cases c WHERE NOT EXISTS (SELECT 1 FROM case_reviews r WHERE r.case_id = c.case_id)
        UNION ALL
        SELECT 5, 'follow_up_due', c.case_id::text, c.participant_id::text, r.follow_up_on::timestamptz
        FROM latest_reviews r JOIN own_cases c ON c.case_id = r.case_id
        WHERE r.decision = 'continue_to_monitor' AND r.follow_up_on <= :week
    ) q
    LEFT JOIN participant_links l
           ON l.jurisdiction = :jurisdiction AND l.merged_participant_id = CAST(q.participant_id AS uuid)
    ORDER BY q.rank, q.due, q.id
    OFFSET :offset LIMIT :limit
    """
)


async def keep_case_record(conn: AsyncConnection, case_id: str, cmd: RegisterCase) -> None:
    """What the registration event does not carry: each charge's description."""
    charges = json.dumps([{"code": c.code, "description": c.description} for c in cmd.charges])
    await conn.execute(_KEEP_CASE_RECORD, {"case_id": case_id, "charges": charges})


async def keep_review_record(
    conn: AsyncConnection, case_id: str, stream_version: int, review_id: str, rationale: str, reviewed_by: str
) -> None:
    """The review's id, rationale and author, under the case stream's version of the review's event."""
    params = {k: v for k, v in locals().items() if k != "conn"}
    await conn.execute(_KEEP_REVIEW_RECORD, params)


async def project_case(conn: AsyncConnection, event: LegacyCaseRegistered, jurisdiction: str) -> None:
    codes = json.dumps([{"code": c} for c in event.offense_codes])
    params = event.model_dump(exclude={"offense_codes"}) | {"jurisdiction": jurisdiction, "codes": codes}
    await conn.execute(_ADD_CASE, params)


async def project_review(conn: AsyncConnection, event: LegacyCaseReviewed, stream_version: int, seq: int) -> None:
    params = {
        "case_id": event.case_id,
        "stream_version": stream_version,
        "seq": seq,
        "decision": event.decision,
        "reviewed_at": event.reviewed_at,
        "follow_up_on": event.follow_up_on,
    }
    await conn.execute(_ADD_REVIEW, params)
    status = {"decline_to_file": "declined", "dismiss_without_prejudice": "dismissed"}.get(event.decision, "pending")
    await conn.execute(_SET_CASE_STATUS, {"case_id": event.case_id, "status": status})


async def project_court_date(conn: AsyncConnection, event: CourtDateScheduled, jurisdiction: str) -> None:
    params = event.model_dump(exclude={"scheduled_at"}) | {"jurisdiction": jurisdiction}
    await conn.execute(_ADD_COURT_DATE, params)


async def get_case(conn: AsyncConnection, case_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_GET_CASE, {"case_id": case_id})).mappings().first()
    return dict(row) if row else None


async def upcoming_court_dates(
    conn: AsyncConnection, participant_ids: list[str], now: datetime
) -> list[dict[str, Any]]:
    """Court dates under any of the person's records."""
    rows = await conn.execute(_COURT_DATES, {"participant_ids": participant_ids, "now": now})
    return [dict(r) for r in rows.mappings()]


async def case_owners(conn: AsyncConnection, participant_ids: list[str]) -> list[tuple[str, str]]:
    """(jurisdiction, agency) of every office holding a case of this person (any of their records)."""
    rows = await conn.execute(_CASE_OWNERS, {"participant_ids": participant_ids})
    return [(r[0], r[1]) for r in rows]


async def queue(
    conn: AsyncConnection,
    office: tuple[str, str],
    site_office: str | None,
    now: datetime,
    today: date,
    offset: int,
    limit: int,
) -> list[dict[str, Any]]:
    """The office's (jurisdiction, agency) own queue page; `today` is the site's local date."""
    params = {
        "jurisdiction": office[0],
        "agency": office[1],
        "site_office": site_office,
        "now": now,
        "today": today,
        "week": today + timedelta(days=7),
        "fortnight": now + timedelta(days=14),
        "offset": offset,
        "limit": limit,
    }
    return [dict(r) for r in (await conn.execute(_QUEUE, params)).mappings()]
