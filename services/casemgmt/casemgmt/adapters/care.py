"""Caseloads, screening forms, plan versions and contacts, in the case-management agency's own database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from casemgmt.domain import commands

# Who a case manager carries (and who the program carries): enrolled participants who are active or inactive, and
# referred people already assigned. Not enrolled, exited, and merged records are not carried.
CARRIED = (
    "((enrolment = 'enrolled' AND status IN ('active', 'inactive')) OR (enrolment = 'referred' AND case_manager_id "
    "IS NOT NULL)) AND NOT EXISTS (SELECT 1 FROM participant_aliases a WHERE a.merged_participant_id = participants.participant_id)"
)
_CASELOAD = sa.text(
    "SELECT count(*) FROM participants WHERE jurisdiction = :jurisdiction AND case_manager_id = :case_manager_id "
    f"AND holder IS NOT DISTINCT FROM CAST(:holder AS text) AND {CARRIED}"
)
_LOCK_CASE_MANAGER = sa.text(
    "SELECT pg_advisory_xact_lock(hashtextextended('caseload:' || coalesce(CAST(:holder AS text), '') || ':' || :case_manager_id, 0))"
)
_CARRIED = sa.text(f"SELECT count(*) FROM participants WHERE jurisdiction = :jurisdiction AND {CARRIED}")
_SAVE_SCREENING = sa.text(
    """
    INSERT INTO initial_screenings (participant_id, form, screened_by, completed_at)
    VALUES (CAST(:participant_id AS uuid), CAST(:form AS jsonb), :screened_by, :completed_at)
    ON CONFLICT (participant_id) DO UPDATE SET form = EXCLUDED.form, screened_by = EXCLUDED.screened_by,
        completed_at = EXCLUDED.completed_at
    """
)
_SCREENING = sa.text(
    "SELECT form, screened_by, completed_at FROM initial_screenings WHERE participant_id = CAST(:participant_id AS uuid)"
)
_ADD_PLAN = sa.text(
    "INSERT INTO plan_versions (participant_id, plan_version, goals, updated_by, updated_at) "
    "VALUES (CAST(:participant_id AS uuid), :plan_version, CAST(:goals AS jsonb), :updated_by, :updated_at)"
)
_PLAN = sa.text(
    "SELECT plan_version, goals, updated_by, updated_at FROM plan_versions WHERE participant_id = CAST(:participant_id AS uuid) "
    "AND (CAST(:version AS int) IS NULL OR plan_version = :version) ORDER BY plan_version DESC LIMIT 1"
)
_ADD_CONTACT = sa.text(
    "INSERT INTO contacts (contact_id, participant_id, kind, occurred_on, staff_id, notes, logged_at) "
    "VALUES (CAST(:contact_id AS uuid), CAST(:participant_id AS uuid), :kind, :occurred_on, :staff_id, :notes, :logged_at)"
)
_CONTACTS = sa.text(
    "SELECT contact_id::text, kind, occurred_on, staff_id, notes FROM contacts "
    "WHERE participant_id = CAST(:participant_id AS uuid) ORDER BY occurred_on DESC, logged_at DESC"
)


async def lock_and_count_caseload(
    conn: AsyncConnection, jurisdiction: str, holder: str | None, case_manager_id: str
) -> int:
    """The case manager's caseload (see CARRIED) at their provider, with assignments serialised so two cannot pass the cap."""
    await conn.execute(_LOCK_CASE_MANAGER, {"holder": holder, "case_manager_id": case_manager_id})
    params = {"jurisdiction": jurisdiction, "holder": holder, "case_manager_id": case_manager_id}
    return int((await conn.execute(_CASELOAD, params)).scalar() or 0)


async def save_screening(conn: AsyncConnection, cmd: commands.RecordScreening) -> None:
    await conn.execute(
        _SAVE_SCREENING,
        {
            "participant_id": cmd.participant_id,
            "form": json.dumps(cmd.form, default=str),
            "screened_by": cmd.screened_by,
            "completed_at": cmd.completed_at,
        },
    )


async def screening(conn: AsyncConnection, participant_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_SCREENING, {"participant_id": participant_id})).mappings().first()
    return dict(row) if row else None


async def add_plan(conn: AsyncConnection, cmd: commands.UpdatePlan, version: int, now: datetime) -> None:
    await conn.execute(
        _ADD_PLAN,
        {
            "participant_id": cmd.participant_id,
            "plan_version": version,
            "goals": json.dumps(cmd.goals, default=str),
            "updated_by": cmd.updated_by,
            "updated_at": now,
        },
    )


async def plan(conn: AsyncConnection, participant_id: str, version: int | None) -> dict[str, Any] | None:
    row = (await conn.execute(_PLAN, {"participant_id": participant_id, "version": version})).mappings().first()
    return dict(row) if row else None


async def add_contact(conn: AsyncConnection, contact_id: str, cmd: commands.LogContact, now: datetime) -> None:
    await conn.execute(
        _ADD_CONTACT,
        {
            "contact_id": contact_id,
            "participant_id": cmd.participant_id,
            "kind": cmd.kind,
            "occurred_on": cmd.occurred_on,
            "staff_id": cmd.staff_id,
            "notes": cmd.notes,
            "logged_at": now,
        },
    )


async def contacts(conn: AsyncConnection, participant_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(_CONTACTS, {"participant_id": participant_id})).mappings()]


async def carried(conn: AsyncConnection, jurisdiction: str) -> int:
    return int((await conn.execute(_CARRIED, {"jurisdiction": jurisdiction})).scalar() or 0)
