"""The referrals read model as a projection of each referral's events, and the record of what those events do
not carry (officer name, incident location and time, RMS person id, excluded factors, reasons, hand-off place),
written by the command handlers and kept by a rebuild."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from referral.domain.commands import SubmitReferral

_KEEP = sa.text(
    """
    INSERT INTO referral_records (referral_id, officer_name, rms_incident_number, offense_codes, occurred_at,
                                  location, exclusions_present, rms_person_id)
    VALUES (CAST(:referral_id AS uuid), :officer_name, :rms_incident_number, :offense_codes, :occurred_at,
            :location, :exclusions_present, :rms_person_id)
    """
)
_NOTE = {
    "decline": "UPDATE referral_records SET decline_reason = :reason WHERE referral_id = CAST(:referral_id AS uuid)",
    "handoff": "UPDATE referral_records SET handoff_location = :location WHERE referral_id = CAST(:referral_id AS uuid)",
    "owg": "UPDATE referral_records SET owg_reason = :reason, referred_to = :referred_to "
    "WHERE referral_id = CAST(:referral_id AS uuid)",
}
_ADD = sa.text(
    """
    INSERT INTO referrals (referral_id, jurisdiction, participant_id, referral_type, status, referring_agency,
                           officer_badge, officer_name, rms_incident_number, offense_codes, occurred_at, location,
                           intake_deadline, policy_version, created_at, exclusions_present, current_deadline,
                           rms_person_id)
    SELECT r.referral_id, :jurisdiction, CAST(:participant_id AS uuid), :referral_type, :status, :referring_agency,
           :officer_badge, r.officer_name, r.rms_incident_number, r.offense_codes, r.occurred_at, r.location,
           :intake_deadline, :policy_version, :created_at, r.exclusions_present, :intake_deadline, r.rms_person_id
    FROM referral_records r WHERE r.referral_id = CAST(:referral_id AS uuid)
    """
)
_STATUS = "UPDATE referrals SET status = :status{more} WHERE referral_id = CAST(:referral_id AS uuid)"
_FROM_RECORD = "(SELECT {column} FROM referral_records WHERE referral_id = CAST(:referral_id AS uuid))"
_CHANGES = {
    "status": sa.text(_STATUS.format(more="")),
    "decline": sa.text(_STATUS.format(more=", decline_reason = " + _FROM_RECORD.format(column="decline_reason"))),
    "handoff": sa.text(
        _STATUS.format(
            more=", handoff_case_manager = :case_manager_id, handoff_agency = :agency, handoff_at = :at, "
            "handoff_location = " + _FROM_RECORD.format(column="handoff_location")
        )
    ),
    "owg": sa.text(
        _STATUS.format(
            more=", owg_decided_by = :decided_by, owg_decided_at = :at, owg_reason = "
            + _FROM_RECORD.format(column="owg_reason")
            + ", referred_to = "
            + _FROM_RECORD.format(column="referred_to")
        )
    ),
}


async def keep(conn: AsyncConnection, referral_id: str, cmd: SubmitReferral) -> None:
    """What the submission event does not carry."""
    await conn.execute(
        _KEEP,
        {
            "referral_id": referral_id,
            "officer_name": cmd.officer.name,
            "rms_incident_number": cmd.incident.rms_incident_number,
            "offense_codes": list(cmd.incident.offense_codes),
            "occurred_at": cmd.incident.occurred_at,
            "location": cmd.incident.location,
            "exclusions_present": list(cmd.exclusions_present),
            "rms_person_id": cmd.person.rms_person_id,
        },
    )


async def note(conn: AsyncConnection, change: str, **values: Any) -> None:
    """A decision's free text (a reason, a place), kept beside the referral for its projection to show."""
    await conn.execute(sa.text(_NOTE[change]), values)


async def add(
    conn: AsyncConnection,
    *,
    referral_id: str,
    jurisdiction: str,
    participant_id: str,
    referral_type: str,
    status: str,
    referring_agency: str,
    officer_badge: str | None,
    intake_deadline: date | None,
    policy_version: int,
    created_at: datetime,
) -> None:
    await conn.execute(_ADD, {k: v for k, v in locals().items() if k != "conn"})


async def change(conn: AsyncConnection, kind: str, **values: Any) -> None:
    await conn.execute(_CHANGES[kind], values)
