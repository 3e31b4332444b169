"""The held-charges read model in the prosecutor's own database, written by the projections of the charge events
and of what the referral and case-management services publish (prosecution.service_layer.projections)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_ADD = sa.text(
    """
    INSERT INTO held_charges (referral_id, jurisdiction, participant_id, offense_codes, status, intake_deadline, held_at,
                              charging_reference, prosecutor_agency)
    VALUES (:referral_id, :jurisdiction, :participant_id, :offense_codes, 'held', :intake_deadline, :held_at,
            :charging_reference, :prosecutor_agency)
    ON CONFLICT (referral_id) DO NOTHING
    """
)
# _ADD for many charges, in their order (unnest keeps it): each parameter an array, one element a charge.
_ADD_MANY = sa.text(
    """
    INSERT INTO held_charges (referral_id, jurisdiction, participant_id, offense_codes, status, intake_deadline, held_at,
                              charging_reference, prosecutor_agency)
    SELECT r, j, p, ARRAY(SELECT jsonb_array_elements_text(c)), 'held', d, h, cr, pa
    FROM unnest(CAST(:referral_ids AS uuid[]), CAST(:jurisdictions AS text[]), CAST(:participant_ids AS uuid[]),
                CAST(:offense_codes AS jsonb[]), CAST(:intake_deadlines AS date[]), CAST(:held_ats AS timestamptz[]),
                CAST(:charging_references AS text[]), CAST(:prosecutor_agencies AS text[]))
         AS t(r, j, p, c, d, h, cr, pa)
    ON CONFLICT (referral_id) DO NOTHING
    """
)
_ADD_MANY_COLUMNS = {
    "referral_ids": "referral_id",
    "jurisdictions": "jurisdiction",
    "participant_ids": "participant_id",
    "intake_deadlines": "intake_deadline",
    "held_ats": "held_at",
    "charging_references": "charging_reference",
    "prosecutor_agencies": "prosecutor_agency",
}
_SYNC = sa.text(
    """
    UPDATE held_charges
    SET status = :status, intake_deadline = COALESCE(:intake_deadline, intake_deadline),
        closed_at = CASE WHEN :status IN ('closed_by_intake', 'closed_participant_enrolled', 'filed', 'not_filed',
                                          'returned_to_ordinary_processing')
                         THEN :at ELSE closed_at END,
        closed_reason = CASE :status WHEN 'closed_by_intake' THEN 'intake_completed'
                                     WHEN 'closed_participant_enrolled' THEN 'participant_enrolled'
                                     ELSE closed_reason END,
        lapsed_at = CASE WHEN :status = 'lapsed' THEN :at WHEN :status = 'held' THEN NULL ELSE lapsed_at END
    WHERE referral_id = CAST(:referral_id AS uuid)
    """
)
# Several replicas may run the lapse job: each due charge is taken by exactly one (the row lock), and the
# aggregate's expected version stops any second lapse that slipped through.
# `today` is the jurisdiction's local date: a deadline lapses at the site's midnight.
_DUE = sa.text(
    "SELECT referral_id::text FROM held_charges WHERE jurisdiction = :jurisdiction AND status = 'held' "
    "AND intake_deadline < :today ORDER BY intake_deadline LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_HOLDING = sa.text("SELECT DISTINCT jurisdiction FROM held_charges WHERE status = 'held'")
_UNDECIDED_OF = sa.text(
    "SELECT referral_id::text FROM held_charges WHERE jurisdiction = :jurisdiction "
    "AND participant_id = ANY(CAST(:ids AS uuid[])) AND status IN ('held', 'lapsed') ORDER BY referral_id"
)
_KNOW = sa.text(
    "INSERT INTO known_participants (participant_id, jurisdiction) VALUES (CAST(:participant_id AS uuid), :jurisdiction) "
    "ON CONFLICT DO NOTHING"
)
_KNOW_MANY = sa.text(
    "INSERT INTO known_participants (participant_id, jurisdiction) "
    "SELECT p, j FROM unnest(CAST(:ids AS uuid[]), CAST(:jurisdictions AS text[])) AS k(p, j) ON CONFLICT DO NOTHING"
)
_KNOWN = sa.text("SELECT jurisdiction FROM known_participants WHERE participant_id = CAST(:participant_id AS uuid)")
# An event of one jurisdiction never touches a charge held in another.
_HELD_FOR = sa.text(
    "SELECT referral_id::text FROM held_charges WHERE participant_id = ANY(CAST(:participant_ids AS uuid[])) "
    "AND referral_id = ANY(CAST(:referral_ids AS uuid[])) AND jurisdiction = :jurisdiction"
)
_NOTE_INTAKE = sa.text(
    "INSERT INTO completed_intakes (referral_id, participant_id, completed_at) "
    "SELECT r, CAST(:participant_id AS uuid), :completed_at FROM unnest(CAST(:referral_ids AS uuid[])) AS r "
    "ON CONFLICT DO NOTHING"
)
# Intake and the offer arrive on different streams, in either order and possibly at the same moment; without
# this lock each transaction could miss the other's uncommitted row and leave a charge held after intake.
_LOCK_REFERRAL = sa.text("SELECT pg_advisory_xact_lock(hashtextextended('held-charge:' || :referral_id, 0))")
_INTAKE_DONE = sa.text("SELECT 1 FROM completed_intakes WHERE referral_id = CAST(:referral_id AS uuid)")
# A charge of a merged record reads under the survivor's id.
_GET = sa.text(
    "SELECT h.referral_id::text, h.jurisdiction, COALESCE(l.survivor_participant_id, h.participant_id)::text "
    "AS participant_id, h.offense_codes, h.status, h.intake_deadline, h.held_at, h.closed_at, h.closed_reason, "
    "h.lapsed_at, h.charging_reference, h.prosecutor_agency FROM held_charges h "
    "LEFT JOIN participant_links l ON l.jurisdiction = h.jurisdiction AND l.merged_participant_id = h.participant_id "
    "WHERE h.referral_id = CAST(:referral_id AS uuid)"
)


async def add(
    conn: AsyncConnection,
    *,
    referral_id: str,
    jurisdiction: str,
    participant_id: str,
    offense_codes: list[str],
    intake_deadline: date,
    held_at: datetime,
    charging_reference: str | None,
    prosecutor_agency: str | None,
) -> None:
    params = {k: v for k, v in locals().items() if k != "conn"}
    await conn.execute(_ADD, params)


async def add_many(conn: AsyncConnection, charges: list[dict[str, Any]]) -> None:
    """`add` for each, in order, in one statement; the first of a referral wins, as it would one by one."""
    if charges:
        params = {name: [c[key] for c in charges] for name, key in _ADD_MANY_COLUMNS.items()}
        params["offense_codes"] = [json.dumps(list(c["offense_codes"])) for c in charges]
        await conn.execute(_ADD_MANY, params)


async def sync(
    conn: AsyncConnection, referral_id: str, status: str, at: datetime, intake_deadline: date | None = None
) -> None:
    """The charge's new status (and deadline, if it moved) as of `at`, the event's time."""
    params = {"referral_id": referral_id, "status": status, "intake_deadline": intake_deadline, "at": at}
    await conn.execute(_SYNC, params)


async def due_for_lapse(conn: AsyncConnection, jurisdiction: str, today: date, limit: int = 100) -> list[str]:
    params = {"jurisdiction": jurisdiction, "today": today, "limit": limit}
    return [r[0] for r in await conn.execute(_DUE, params)]


async def jurisdictions_holding(conn: AsyncConnection) -> list[str]:
    """Every jurisdiction with a charge still held (each lapses on its own calendar)."""
    return sorted(r[0] for r in await conn.execute(_HOLDING))


async def undecided_of(conn: AsyncConnection, jurisdiction: str, participant_ids: list[str]) -> list[str]:
    """Charges of these records (one person) still held or lapsed without the prosecutor's decision."""
    return [r[0] for r in await conn.execute(_UNDECIDED_OF, {"jurisdiction": jurisdiction, "ids": participant_ids})]


async def know_participant(conn: AsyncConnection, participant_id: str, jurisdiction: str) -> None:
    await conn.execute(_KNOW, {"participant_id": participant_id, "jurisdiction": jurisdiction})


async def know_participants(conn: AsyncConnection, known: list[tuple[str, str]]) -> None:
    """`know_participant` for each (participant_id, jurisdiction), in one statement."""
    if known:
        await conn.execute(_KNOW_MANY, {"ids": [p for p, _ in known], "jurisdictions": [j for _, j in known]})


async def participant_jurisdiction(conn: AsyncConnection, participant_id: str) -> str | None:
    row = (await conn.execute(_KNOWN, {"participant_id": participant_id})).first()
    return row[0] if row else None


async def held_for(
    conn: AsyncConnection, participant_ids: list[str], referral_ids: list[str], jurisdiction: str
) -> list[str]:
    """Of these referrals, those held here for this person (under any of their linked records)."""
    params = {"participant_ids": participant_ids, "referral_ids": referral_ids, "jurisdiction": jurisdiction}
    rows = await conn.execute(_HELD_FOR, params)
    return [r[0] for r in rows]


async def get(conn: AsyncConnection, referral_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_GET, {"referral_id": referral_id})).mappings().first()
    return dict(row) if row else None


async def note_intake(
    conn: AsyncConnection, participant_id: str, referral_ids: list[str], completed_at: datetime
) -> None:
    await conn.execute(
        _NOTE_INTAKE, {"participant_id": participant_id, "referral_ids": referral_ids, "completed_at": completed_at}
    )


async def intake_done(conn: AsyncConnection, referral_id: str) -> bool:
    return (await conn.execute(_INTAKE_DONE, {"referral_id": referral_id})).first() is not None


async def lock_referrals(conn: AsyncConnection, referral_ids: list[str]) -> None:
    """Serialise the offer and the intake of the same referral (in a fixed order, so never a deadlock)."""
    for referral_id in sorted(set(referral_ids)):
        await conn.execute(_LOCK_REFERRAL, {"referral_id": referral_id})
