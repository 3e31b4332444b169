"""Referral read models and the person index, in the police agency's own database."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from referral.domain.commands import SubmitReferral

# The person index is each referring agency's own: its RMS ids, and the people it referred.
_FIND_PERSON = sa.text(
    "SELECT participant_id::text FROM persons "
    "WHERE jurisdiction = :jurisdiction AND indexed_by = :agency AND rms_person_id = :rms_person_id "
    "UNION SELECT participant_id::text FROM person_rms_ids "
    "WHERE jurisdiction = :jurisdiction AND agency = :agency AND rms_person_id = :rms_person_id"
)
_SURVIVOR = sa.text(
    "SELECT survivor_participant_id::text FROM participant_links WHERE merged_participant_id = CAST(:id AS uuid)"
)
# Exact: same first and last name (any case) and date of birth, among the referring agency's own people. Possible:
# same last name and date of birth, or same names with another date of birth, or any match among another agency's
# people: a person for the project manager to look at, never a silent merge (nor a tell to the referrer).
_SAME_PERSON = sa.text(
    """
    SELECT participant_id::text,
           (lower(first_name) = lower(:first_name) AND date_of_birth = :date_of_birth
            AND indexed_by = :agency) AS exact
    FROM persons
    WHERE jurisdiction = :jurisdiction AND lower(last_name) = lower(:last_name)
      AND (date_of_birth = :date_of_birth OR lower(first_name) = lower(:first_name))
      AND participant_id NOT IN (SELECT merged_participant_id FROM participant_links)
    """
)
_ADD_RMS_ID = sa.text(
    "INSERT INTO person_rms_ids (jurisdiction, agency, rms_person_id, participant_id) "
    "VALUES (:jurisdiction, :agency, :rms_person_id, CAST(:participant_id AS uuid)) ON CONFLICT DO NOTHING"
)
_ADD_REVIEW = sa.text(
    """
    INSERT INTO person_match_reviews (review_id, jurisdiction, participant_id, candidate_participant_ids, reason,
                                      created_at)
    VALUES (CAST(:review_id AS uuid), :jurisdiction, CAST(:participant_id AS uuid),
            CAST(:candidates AS uuid[]), :reason, now())
    """
)
_ADD_PERSON = sa.text(
    """
    INSERT INTO persons (participant_id, jurisdiction, indexed_by, rms_person_id, first_name, last_name,
                         date_of_birth, race, ethnicity, gender)
    VALUES (:participant_id, :jurisdiction, :agency, :rms_person_id, :first_name, :last_name, :date_of_birth,
            :race, :ethnicity, :gender)
    ON CONFLICT ON CONSTRAINT persons_rms_id DO NOTHING
    RETURNING participant_id::text
    """
)
_GET_REFERRAL = sa.text(
    """
    SELECT r.referral_id::text, r.jurisdiction,
           COALESCE(l.survivor_participant_id, r.participant_id)::text AS participant_id, r.referral_type, r.status,
           r.referring_agency, r.officer_badge, r.officer_name, r.rms_incident_number, r.offense_codes,
           r.occurred_at, r.location, r.intake_deadline, r.policy_version, r.created_at, r.referred_to,
           p.first_name, p.last_name, p.date_of_birth, p.race, p.ethnicity, p.gender, p.rms_person_id
    FROM referrals r JOIN persons p ON p.participant_id = r.participant_id
    LEFT JOIN participant_links l ON l.merged_participant_id = r.participant_id
    WHERE r.referral_id = CAST(:referral_id AS uuid)
    """
)


async def participant_for(conn: AsyncConnection, cmd: SubmitReferral) -> str:
    """The participant for this person in this jurisdiction: by RMS id, else by exact name and date of birth;
    an ambiguous or partial match makes a new participant and a review item for the project manager. A linked
    participant answers as its survivor."""
    return await survivor(conn, await _indexed(conn, cmd))


async def survivor(conn: AsyncConnection, participant_id: str) -> str:
    """The participant an id answers for: itself, or the survivor it was linked into (links are flattened)."""
    linked = (await conn.execute(_SURVIVOR, {"id": participant_id})).scalar()
    return str(linked or participant_id)


async def _indexed(conn: AsyncConnection, cmd: SubmitReferral) -> str:
    if cmd.person.rms_person_id is not None:
        found = (await conn.execute(_FIND_PERSON, _person_key(cmd))).scalar()
        if found:
            return str(found)
    person = cmd.person
    names = {
        "jurisdiction": cmd.jurisdiction,
        "agency": cmd.referring_agency,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "date_of_birth": person.date_of_birth,
    }
    matches = (await conn.execute(_SAME_PERSON, names)).all()
    exact = [m.participant_id for m in matches if m.exact]
    if len(exact) == 1:
        if cmd.person.rms_person_id is not None:
            await conn.execute(_ADD_RMS_ID, {**_person_key(cmd), "participant_id": exact[0]})
        return str(exact[0])
    participant_id = await _new_person(conn, cmd)
    if matches:
        reason = "several participants share this name and date of birth" if exact else "a possible match"
        await conn.execute(
            _ADD_REVIEW,
            {
                "review_id": str(uuid4()),
                "jurisdiction": cmd.jurisdiction,
                "participant_id": participant_id,
                "candidates": [m.participant_id for m in matches],
                "reason": reason,
            },
        )
    return participant_id


async def _new_person(conn: AsyncConnection, cmd: SubmitReferral) -> str:
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


def _person_key(cmd: SubmitReferral) -> dict[str, str | None]:
    return {"jurisdiction": cmd.jurisdiction, "agency": cmd.referring_agency, "rms_person_id": cmd.person.rms_person_id}


async def get_referral(conn: AsyncConnection, referral_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_GET_REFERRAL, {"referral_id": referral_id})).mappings().first()
    return dict(row) if row else None
