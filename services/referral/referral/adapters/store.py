"""Referral read models and the person index, in the police agency's own database."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from referral.domain.commands import SubmitReferral

_FIND_PERSON = sa.text(
    "SELECT participant_id::text FROM persons WHERE jurisdiction = :jurisdiction AND rms_person_id = :rms_person_id"
)
_ADD_PERSON = sa.text(
    """
    INSERT INTO persons (participant_id, jurisdiction, rms_person_id, first_name, last_name, date_of_birth,
                         race, ethnicity, gender)
    VALUES (:participant_id, :jurisdiction, :rms_person_id, :first_name, :last_name, :date_of_birth,
            :race, :ethnicity, :gender)
    ON CONFLICT ON CONSTRAINT persons_rms_id DO NOTHING
    RETURNING participant_id::text
    """
)
_ADD_REFERRAL = sa.text(
    """
    INSERT INTO referrals (referral_id, jurisdiction, participant_id, referral_type, status, referring_agency,
                           officer_badge, officer_name, rms_incident_number, offense_codes, occurred_at, location,
                           intake_deadline, policy_version, created_at, exclusions_present)
    VALUES (:referral_id, :jurisdiction, :participant_id, :referral_type, :status, :referring_agency,
            :officer_badge, :officer_name, :rms_incident_number, :offense_codes, :occurred_at, :location,
            :intake_deadline, :policy_version, :created_at, :exclusions_present)
    """
)
_GET_REFERRAL = sa.text(
    """
    SELECT r.referral_id::text, r.jurisdiction, r.participant_id::text, r.referral_type, r.status,
           r.referring_agency, r.officer_badge, r.officer_name, r.rms_incident_number, r.offense_codes,
           r.occurred_at, r.location, r.intake_deadline, r.policy_version, r.created_at,
           p.first_name, p.last_name, p.date_of_birth, p.race, p.ethnicity, p.gender, p.rms_person_id
    FROM referrals r JOIN persons p ON p.participant_id = r.participant_id
    WHERE r.referral_id = CAST(:referral_id AS uuid)
    """
)


async def participant_for(conn: AsyncConnection, cmd: SubmitReferral) -> str:
    """The participant id for this RMS person in this jurisdiction, creating the index entry if new."""
    found = (await conn.execute(_FIND_PERSON, _person_key(cmd))).scalar()
    if found:
        return str(found)
    person = cmd.person
    created = (
        await conn.execute(
            _ADD_PERSON,
            {
                **_person_key(cmd),
                "participant_id": str(uuid4()),
                "first_name": person.first_name,
                "last_name": person.last_name,
                "date_of_birth": person.date_of_birth,
                "race": person.race,
                "ethnicity": person.ethnicity,
                "gender": person.gender,
            },
        )
    ).scalar()
    # A concurrent referral for the same person may have indexed them first: use theirs.
    return str(created or (await conn.execute(_FIND_PERSON, _person_key(cmd))).scalar())


def _person_key(cmd: SubmitReferral) -> dict[str, str]:
    return {"jurisdiction": cmd.jurisdiction, "rms_person_id": cmd.person.rms_person_id}


async def add_referral(
    conn: AsyncConnection, referral_id: str, participant_id: str, cmd: SubmitReferral, **state: Any
) -> None:
    await conn.execute(
        _ADD_REFERRAL,
        {
            "referral_id": referral_id,
            "jurisdiction": cmd.jurisdiction,
            "participant_id": participant_id,
            "referral_type": cmd.referral_type,
            "referring_agency": cmd.referring_agency,
            "officer_badge": cmd.officer.badge_number,
            "officer_name": cmd.officer.name,
            "rms_incident_number": cmd.incident.rms_incident_number,
            "offense_codes": list(cmd.incident.offense_codes),
            "occurred_at": cmd.incident.occurred_at,
            "location": cmd.incident.location,
            **state,
        },
    )


async def get_referral(conn: AsyncConnection, referral_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_GET_REFERRAL, {"referral_id": referral_id})).mappings().first()
    return dict(row) if row else None
