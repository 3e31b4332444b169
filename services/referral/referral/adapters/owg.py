"""What the Operations Work Group reviews: the referral service's own rows plus what other services told it."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_INTAKE_DONE = sa.text(
    "UPDATE referrals SET intake_completed_at = :at WHERE referral_id = ANY(CAST(:referral_ids AS uuid[]))"
)
_DEADLINE = sa.text(
    "UPDATE referrals SET current_deadline = :deadline WHERE referral_id = ANY(CAST(:referral_ids AS uuid[]))"
)
_CASE_MANAGER = sa.text(
    "UPDATE referrals SET case_manager_id = :case_manager_id WHERE participant_id = CAST(:participant_id AS uuid)"
)
_ADD_ITEM = sa.text(
    "INSERT INTO owg_items (item_id, jurisdiction, kind, participant_id, detail, at, owner_agency) VALUES "
    "(CAST(:item_id AS uuid), :jurisdiction, :kind, CAST(:participant_id AS uuid), CAST(:detail AS jsonb), :at, "
    ":owner_agency) "
    "ON CONFLICT DO NOTHING"
)
_PERSON_COLUMNS = """
    r.jurisdiction, r.referral_id::text, r.participant_id::text, r.referral_type, r.status, r.referring_agency, r.officer_badge,
    r.officer_name, r.offense_codes, r.created_at, r.current_deadline, r.intake_completed_at, r.case_manager_id,
    r.owg_decided_by, r.owg_reason, r.owg_decided_at, r.handoff_agency,
    p.first_name, p.last_name, p.date_of_birth, p.race, p.ethnicity, p.gender
"""
_SOCIAL_REVIEW = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS} FROM referrals r JOIN persons p ON p.participant_id = r.participant_id
    WHERE r.jurisdiction = :jurisdiction AND r.referral_type = 'social_contact'
      AND (r.status = 'submitted' OR r.owg_decided_at >= :since)
    ORDER BY r.created_at
    """
)
_NEW_REFERRALS = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS} FROM referrals r JOIN persons p ON p.participant_id = r.participant_id
    WHERE r.jurisdiction = :jurisdiction AND r.created_at >= :since AND r.created_at < :until
    ORDER BY r.created_at
    """
)
_DEADLINES = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS} FROM referrals r JOIN persons p ON p.participant_id = r.participant_id
    WHERE r.jurisdiction = :jurisdiction AND r.referral_type = 'arrest_diversion' AND r.intake_completed_at IS NULL
      AND r.status NOT IN ('declined') AND r.current_deadline BETWEEN :day AND :horizon
    ORDER BY r.current_deadline
    """
)
_ITEMS = sa.text(
    "SELECT jurisdiction, kind, participant_id::text, detail, at, owner_agency FROM owg_items WHERE jurisdiction = :jurisdiction "
    "AND at >= :since AND at < :until ORDER BY at"
)
_ROSTER = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS} FROM referrals r JOIN persons p ON p.participant_id = r.participant_id
    WHERE r.jurisdiction = :jurisdiction AND r.status NOT IN ('declined', 'denied')
    ORDER BY r.created_at
    """
)


async def intake_completed(conn: AsyncConnection, referral_ids: list[str], at: datetime) -> None:
    await conn.execute(_INTAKE_DONE, {"referral_ids": referral_ids, "at": at})


async def deadline_moved(conn: AsyncConnection, referral_ids: list[str], deadline: date) -> None:
    await conn.execute(_DEADLINE, {"referral_ids": referral_ids, "deadline": deadline})


async def case_manager(conn: AsyncConnection, participant_id: str, case_manager_id: str) -> None:
    await conn.execute(_CASE_MANAGER, {"participant_id": participant_id, "case_manager_id": case_manager_id})


async def add_item(
    conn: AsyncConnection,
    item_id: str,
    jurisdiction: str,
    kind: str,
    participant_id: str,
    detail: dict[str, Any],
    at: datetime,
    *,
    owner_agency: str | None,
) -> None:
    await conn.execute(
        _ADD_ITEM,
        {
            "item_id": item_id,
            "jurisdiction": jurisdiction,
            "kind": kind,
            "participant_id": participant_id,
            "detail": json.dumps(detail, default=str),
            "at": at,
            "owner_agency": owner_agency,
        },
    )


async def agenda(
    conn: AsyncConnection, jurisdiction: str, since: datetime, until: datetime, day: date, horizon: date
) -> dict[str, list[dict[str, Any]]]:
    params = {"jurisdiction": jurisdiction, "since": since, "until": until, "day": day, "horizon": horizon}

    async def rows(query: sa.TextClause) -> list[dict[str, Any]]:
        return [dict(r) for r in (await conn.execute(query, params)).mappings()]

    return {
        "referral_review": await rows(_SOCIAL_REVIEW),
        "new_referrals": await rows(_NEW_REFERRALS),
        "extensions_and_reviews": await rows(_ITEMS),
        "upcoming_deadlines": await rows(_DEADLINES),
    }


async def roster(conn: AsyncConnection, jurisdiction: str) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(_ROSTER, {"jurisdiction": jurisdiction})).mappings()]


_SET_CAPACITY = sa.text(
    """
    INSERT INTO program_capacity (jurisdiction, active_participants, capacity, changed_at)
    VALUES (:jurisdiction, :active, :capacity, :at)
    ON CONFLICT (jurisdiction) DO UPDATE SET active_participants = EXCLUDED.active_participants,
        capacity = EXCLUDED.capacity, changed_at = EXCLUDED.changed_at
    WHERE program_capacity.changed_at <= EXCLUDED.changed_at
    """
)
_CAPACITY = sa.text("SELECT active_participants, capacity FROM program_capacity WHERE jurisdiction = :jurisdiction")
_WAITLISTED = sa.text(
    "SELECT referral_id::text FROM referrals WHERE jurisdiction = :jurisdiction AND status = 'waitlisted' "
    "ORDER BY owg_decided_at, referral_id LIMIT :room FOR UPDATE SKIP LOCKED"
)


async def set_capacity(conn: AsyncConnection, jurisdiction: str, active: int, capacity: int, at: datetime) -> None:
    await conn.execute(_SET_CAPACITY, {"jurisdiction": jurisdiction, "active": active, "capacity": capacity, "at": at})


async def program_full(conn: AsyncConnection, jurisdiction: str) -> bool:
    """True when case management last reported the program at or over capacity (unknown counts as room)."""
    row = (await conn.execute(_CAPACITY, {"jurisdiction": jurisdiction})).first()
    return row is not None and row.active_participants >= row.capacity


async def waitlisted(conn: AsyncConnection, jurisdiction: str, room: int) -> list[str]:
    if room <= 0:
        return []
    return [r[0] for r in await conn.execute(_WAITLISTED, {"jurisdiction": jurisdiction, "room": room})]


async def capacity(conn: AsyncConnection, jurisdiction: str) -> dict[str, int] | None:
    row = (await conn.execute(_CAPACITY, {"jurisdiction": jurisdiction})).mappings().first()
    return dict(row) if row else None
