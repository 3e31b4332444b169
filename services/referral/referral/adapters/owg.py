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
_FROM_REFERRALS = "FROM referrals r JOIN persons p ON p.participant_id = r.participant_id"
_WITH_ENROLMENT = (
    "e.enrolment, e.not_enrolled_reason, e.changed_at AS enrolment_changed_at",
    "LEFT JOIN owg_enrolment e ON e.participant_id = r.participant_id",
)
# A participant's row outside the referral's own sections (a case, a plan) shows the newest referral's person.
_LATEST_REFERRAL = """
    LEFT JOIN LATERAL (SELECT * FROM referrals x WHERE x.participant_id = {pid} ORDER BY x.created_at DESC LIMIT 1) r
        ON true
    LEFT JOIN persons p ON p.participant_id = {pid}
"""
_SOCIAL_REVIEW = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS},
        CASE r.status WHEN 'submitted' THEN 'needs_vetting' WHEN 'waitlisted' THEN 'waiting_for_room' END AS pending_reason
    {_FROM_REFERRALS}
    WHERE r.jurisdiction = :jurisdiction AND r.referral_type = 'social_contact'
      AND (r.status IN ('submitted', 'waitlisted') OR r.owg_decided_at >= :since)
    ORDER BY r.created_at
    """
)
_NEW_REFERRALS = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS} {_FROM_REFERRALS}
    WHERE r.jurisdiction = :jurisdiction AND r.created_at >= :since AND r.created_at < :until
    ORDER BY r.created_at
    """
)
# Everyone referred and not yet enrolled, and whoever's standing changed since the last meeting.
_INTAKE_STATUS = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS}, {_WITH_ENROLMENT[0]} {_FROM_REFERRALS} {_WITH_ENROLMENT[1]}
    WHERE r.jurisdiction = :jurisdiction AND r.status NOT IN ('declined', 'denied', 'submitted', 'waitlisted')
      AND (e.enrolment IS NULL OR e.enrolment = 'referred' OR e.changed_at >= :since)
    ORDER BY r.created_at
    """
)
_DEADLINES = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS}, {_WITH_ENROLMENT[0]} {_FROM_REFERRALS} {_WITH_ENROLMENT[1]}
    WHERE r.jurisdiction = :jurisdiction AND r.referral_type = 'arrest_diversion' AND r.intake_completed_at IS NULL
      AND r.status NOT IN ('declined') AND r.current_deadline BETWEEN :day AND :horizon
    ORDER BY r.current_deadline
    """
)
# Lapsed without intake, until the prosecutor decides, the OWG extends, or a late intake closes the charge.
_LAPSED = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS}, c.lapsed_deadline, c.lapsed_at, c.charge_agency AS co_holder
    {_FROM_REFERRALS} JOIN owg_charges c ON c.referral_id = r.referral_id
    WHERE r.jurisdiction = :jurisdiction AND c.lapsed_at IS NOT NULL AND r.intake_completed_at IS NULL
      AND (c.resolved_at IS NULL OR c.resolved_at < c.lapsed_at)
    ORDER BY c.lapsed_deadline
    """
)
_EXTENSIONS = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS}, i.detail->>'intake_deadline' AS extended_to, i.detail->>'granted_by' AS extension_granted_by,
        i.detail->>'law_enforcement_agency' AS law_enforcement_agency, i.at AS extended_at, i.owner_agency AS co_holder
    FROM owg_items i {_LATEST_REFERRAL.format(pid="i.participant_id")}
    WHERE i.jurisdiction = :jurisdiction AND i.kind = 'extension' AND i.at >= :since AND i.at < :until
    ORDER BY i.at
    """
)
_CASES = """
    SELECT {_PERSON_COLUMNS}, k.case_id, k.kind AS case_kind, k.docket_number, k.court, k.charge_codes,
        k.filed_at AS case_filed_at, k.registered_at AS case_registered_at, k.decision AS review_decision,
        k.reviewed_at, k.follow_up_on, k.agency AS case_agency, k.jurisdiction AS jurisdiction
    FROM owg_cases k {latest}
    WHERE k.jurisdiction = :jurisdiction AND {where}
    ORDER BY {order}
"""
_AWAITING_REVIEW = sa.text(
    _CASES.format(
        _PERSON_COLUMNS=_PERSON_COLUMNS.replace("r.jurisdiction,", ""),
        latest=_LATEST_REFERRAL.format(pid="k.participant_id"),
        where="k.reviewed_at IS NULL AND k.registered_at IS NOT NULL",
        order="k.registered_at",
    )
)
_FOLLOW_UPS = sa.text(
    _CASES.format(
        _PERSON_COLUMNS=_PERSON_COLUMNS.replace("r.jurisdiction,", ""),
        latest=_LATEST_REFERRAL.format(pid="k.participant_id"),
        where="k.decision = 'continue_to_monitor' AND k.follow_up_on <= :day",
        order="k.follow_up_on",
    )
)
_CASE_PLANS = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS.replace("r.jurisdiction,", "")}, ids.jurisdiction, pl.plan_version, pl.goal_count,
        pl.updated_at AS plan_updated_at,
        (SELECT count(*) FROM owg_contacts n WHERE n.participant_id = ids.participant_id
            AND n.occurred_on >= :since_day AND n.occurred_on < :day) AS contacts_since
    FROM (SELECT participant_id, jurisdiction FROM owg_plans WHERE jurisdiction = :jurisdiction
          UNION SELECT participant_id, jurisdiction FROM owg_contacts WHERE jurisdiction = :jurisdiction
            AND occurred_on >= :since_day AND occurred_on < :day) ids
    LEFT JOIN owg_plans pl ON pl.participant_id = ids.participant_id
    {_LATEST_REFERRAL.format(pid="ids.participant_id")}
    ORDER BY p.last_name NULLS LAST, ids.participant_id
    """
)
_ROSTER = sa.text(
    f"""
    SELECT {_PERSON_COLUMNS}, {_WITH_ENROLMENT[0]}, pl.plan_version, pl.goal_count, pl.updated_at AS plan_updated_at
    {_FROM_REFERRALS} {_WITH_ENROLMENT[1]} LEFT JOIN owg_plans pl ON pl.participant_id = r.participant_id
    WHERE r.jurisdiction = :jurisdiction AND r.status NOT IN ('declined', 'denied')
    ORDER BY r.created_at
    """
)
_SETTINGS = sa.text("SELECT lookback_days, time_zone FROM owg_settings WHERE jurisdiction = :jurisdiction")


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
    """Each section's rows, ungated: the caller decides each row per viewer before serving any."""
    params = {
        "jurisdiction": jurisdiction,
        "since": since,
        "until": until,
        "day": day,
        "horizon": horizon,
        "since_day": since.date(),
    }

    async def rows(query: sa.TextClause) -> list[dict[str, Any]]:
        return [dict(r) for r in (await conn.execute(query, params)).mappings()]

    return {
        "referral_review": await rows(_SOCIAL_REVIEW),
        "new_referrals": await rows(_NEW_REFERRALS),
        "intake_status": await rows(_INTAKE_STATUS),
        "lapsed": await rows(_LAPSED),
        "extensions": await rows(_EXTENSIONS),
        "upcoming_deadlines": await rows(_DEADLINES),
        "cases_awaiting_review": await rows(_AWAITING_REVIEW),
        "follow_ups_due": await rows(_FOLLOW_UPS),
        "case_plans": await rows(_CASE_PLANS),
    }


async def roster(conn: AsyncConnection, jurisdiction: str) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(_ROSTER, {"jurisdiction": jurisdiction})).mappings()]


async def settings(conn: AsyncConnection, jurisdiction: str) -> dict[str, Any] | None:
    """The site's OWG look-back and time zone, as the newest policy amendment set them (None: never amended)."""
    row = (await conn.execute(_SETTINGS, {"jurisdiction": jurisdiction})).mappings().first()
    return dict(row) if row else None


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
