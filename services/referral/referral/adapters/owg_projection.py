"""Writes to the OWG agenda's read model. Events come from several streams in any order, so each write keeps
the newest fact by its own time: a lapse stays open only while nothing later (a decision, an extension, a
late intake) has ended it."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_SETTINGS = sa.text(
    """
    INSERT INTO owg_settings (jurisdiction, lookback_days, time_zone, policy_version)
    VALUES (:jurisdiction, :lookback_days, :time_zone, :policy_version)
    ON CONFLICT (jurisdiction) DO UPDATE SET lookback_days = EXCLUDED.lookback_days,
        time_zone = EXCLUDED.time_zone, policy_version = EXCLUDED.policy_version
    WHERE owg_settings.policy_version <= EXCLUDED.policy_version
    """
)
_ENROLMENT = sa.text(
    """
    INSERT INTO owg_enrolment (participant_id, jurisdiction, enrolment, not_enrolled_reason, changed_at)
    VALUES (CAST(:participant_id AS uuid), :jurisdiction, :enrolment, :reason, :at)
    ON CONFLICT (participant_id) DO UPDATE SET enrolment = EXCLUDED.enrolment,
        not_enrolled_reason = EXCLUDED.not_enrolled_reason, changed_at = EXCLUDED.changed_at
    WHERE owg_enrolment.changed_at <= EXCLUDED.changed_at
    """
)
_CHARGE = """
    INSERT INTO owg_charges (referral_id, participant_id, jurisdiction, {columns})
    VALUES (CAST(:referral_id AS uuid), CAST(:participant_id AS uuid), :jurisdiction, {values})
    ON CONFLICT (referral_id) DO UPDATE SET {updates}
"""
_HELD = sa.text(
    _CHARGE.format(
        columns="charge_agency",
        values=":agency",
        updates="charge_agency = coalesce(EXCLUDED.charge_agency, owg_charges.charge_agency)",
    )
)
_LAPSED = sa.text(
    _CHARGE.format(
        columns="lapsed_deadline, lapsed_at",
        values=":deadline, :at",
        updates="lapsed_deadline = EXCLUDED.lapsed_deadline, lapsed_at = EXCLUDED.lapsed_at "
        "WHERE owg_charges.lapsed_at IS NULL OR owg_charges.lapsed_at <= EXCLUDED.lapsed_at",
    )
)
_RESOLVED = sa.text(
    _CHARGE.format(
        columns="resolution, resolved_at",
        values=":resolution, :at",
        updates="resolution = EXCLUDED.resolution, resolved_at = EXCLUDED.resolved_at "
        "WHERE owg_charges.resolved_at IS NULL OR owg_charges.resolved_at <= EXCLUDED.resolved_at",
    )
)
_CASE = sa.text(
    """
    INSERT INTO owg_cases (case_id, participant_id, jurisdiction, agency, kind, docket_number, court, charge_codes,
        filed_at, registered_at)
    VALUES (:case_id, CAST(:participant_id AS uuid), :jurisdiction, :agency, :kind, :docket_number, :court,
        :charge_codes, :filed_at, :registered_at)
    ON CONFLICT (case_id) DO UPDATE SET agency = EXCLUDED.agency, kind = EXCLUDED.kind,
        docket_number = EXCLUDED.docket_number, court = EXCLUDED.court, charge_codes = EXCLUDED.charge_codes,
        filed_at = EXCLUDED.filed_at, registered_at = EXCLUDED.registered_at
    """
)
_REVIEW = sa.text(
    """
    INSERT INTO owg_cases (case_id, participant_id, jurisdiction, decision, reviewed_at, follow_up_on)
    VALUES (:case_id, CAST(:participant_id AS uuid), :jurisdiction, :decision, :reviewed_at, :follow_up_on)
    ON CONFLICT (case_id) DO UPDATE SET decision = EXCLUDED.decision, reviewed_at = EXCLUDED.reviewed_at,
        follow_up_on = EXCLUDED.follow_up_on
    WHERE owg_cases.reviewed_at IS NULL OR owg_cases.reviewed_at <= EXCLUDED.reviewed_at
    """
)
_PLAN = sa.text(
    """
    INSERT INTO owg_plans (participant_id, jurisdiction, plan_version, goal_count, updated_at)
    VALUES (CAST(:participant_id AS uuid), :jurisdiction, :plan_version, :goal_count, :at)
    ON CONFLICT (participant_id) DO UPDATE SET plan_version = EXCLUDED.plan_version,
        goal_count = EXCLUDED.goal_count, updated_at = EXCLUDED.updated_at
    WHERE owg_plans.plan_version <= EXCLUDED.plan_version
    """
)
_CONTACT = sa.text(
    "INSERT INTO owg_contacts (contact_id, participant_id, jurisdiction, occurred_on) "
    "VALUES (:contact_id, CAST(:participant_id AS uuid), :jurisdiction, :occurred_on) ON CONFLICT DO NOTHING"
)


async def site_settings(
    conn: AsyncConnection, jurisdiction: str, *, lookback_days: int, time_zone: str, policy_version: int
) -> None:
    await conn.execute(
        _SETTINGS,
        {
            "jurisdiction": jurisdiction,
            "lookback_days": lookback_days,
            "time_zone": time_zone,
            "policy_version": policy_version,
        },
    )


async def enrolment(
    conn: AsyncConnection, jurisdiction: str, participant_id: str, enrolment: str, reason: str | None, at: datetime
) -> None:
    params = {"participant_id": participant_id, "jurisdiction": jurisdiction, "enrolment": enrolment}
    await conn.execute(_ENROLMENT, params | {"reason": reason, "at": at})


async def charge_held(
    conn: AsyncConnection, jurisdiction: str, referral_id: str, participant_id: str, agency: str | None
) -> None:
    params = {"referral_id": referral_id, "participant_id": participant_id, "jurisdiction": jurisdiction}
    await conn.execute(_HELD, params | {"agency": agency})


async def lapsed(
    conn: AsyncConnection, jurisdiction: str, referral_id: str, participant_id: str, deadline: date, at: datetime
) -> None:
    params = {"referral_id": referral_id, "participant_id": participant_id, "jurisdiction": jurisdiction}
    await conn.execute(_LAPSED, params | {"deadline": deadline, "at": at})


async def resolved(
    conn: AsyncConnection, jurisdiction: str, referral_id: str, participant_id: str, resolution: str, at: datetime
) -> None:
    params = {"referral_id": referral_id, "participant_id": participant_id, "jurisdiction": jurisdiction}
    await conn.execute(_RESOLVED, params | {"resolution": resolution, "at": at})


async def case_registered(conn: AsyncConnection, jurisdiction: str, **case: object) -> None:
    await conn.execute(_CASE, {"jurisdiction": jurisdiction, **case})


async def case_reviewed(conn: AsyncConnection, jurisdiction: str, **review: object) -> None:
    await conn.execute(_REVIEW, {"jurisdiction": jurisdiction, **review})


async def plan(
    conn: AsyncConnection, jurisdiction: str, participant_id: str, plan_version: int, goal_count: int, at: datetime
) -> None:
    await conn.execute(
        _PLAN,
        {
            "participant_id": participant_id,
            "jurisdiction": jurisdiction,
            "plan_version": plan_version,
            "goal_count": goal_count,
            "at": at,
        },
    )


async def contact(
    conn: AsyncConnection, jurisdiction: str, contact_id: str, participant_id: str, occurred_on: date
) -> None:
    await conn.execute(
        _CONTACT,
        {
            "contact_id": contact_id,
            "participant_id": participant_id,
            "jurisdiction": jurisdiction,
            "occurred_on": occurred_on,
        },
    )
