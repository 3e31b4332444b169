"""Policy versions, screenings and discretion records (records the command handlers keep), in the police database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from referral.domain import commands

_ADD_POLICY = sa.text(
    "INSERT INTO eligibility_policies (jurisdiction, policy_version, document, amended_by, amended_at) "
    "VALUES (:jurisdiction, :policy_version, CAST(:document AS jsonb), :amended_by, :amended_at)"
)
_POLICY = sa.text(
    "SELECT document, amended_by, amended_at FROM eligibility_policies WHERE jurisdiction = :jurisdiction "
    "AND (CAST(:version AS int) IS NULL OR policy_version = :version) ORDER BY policy_version DESC LIMIT 1"
)
_ADD_SCREENING = sa.text(
    """
    INSERT INTO screenings (screening_id, jurisdiction, referral_type, offense_codes, exclusions_present, eligible,
                            reasons, policy_version, screened_by, screened_at)
    VALUES (CAST(:screening_id AS uuid), :jurisdiction, :referral_type, :offense_codes, :exclusions_present,
            :eligible, CAST(:reasons AS jsonb), :policy_version, :screened_by, :screened_at)
    """
)
_ADD_DISCRETION = sa.text(
    """
    INSERT INTO discretion_records (record_id, jurisdiction, offense_codes, reason, officer_badge, race, ethnicity,
                                    gender, age_band, recorded_by, recorded_at)
    VALUES (CAST(:record_id AS uuid), :jurisdiction, :offense_codes, :reason, :officer_badge, :race, :ethnicity,
            :gender, :age_band, :recorded_by, :recorded_at)
    """
)


async def add_policy(
    conn: AsyncConnection, jurisdiction: str, document: dict[str, Any], amended_by: str, at: datetime
) -> None:
    await conn.execute(
        _ADD_POLICY,
        {
            "jurisdiction": jurisdiction,
            "policy_version": document["policy_version"],
            "document": json.dumps(document),
            "amended_by": amended_by,
            "amended_at": at,
        },
    )


async def policy(conn: AsyncConnection, jurisdiction: str, version: int | None = None) -> dict[str, Any] | None:
    row = (await conn.execute(_POLICY, {"jurisdiction": jurisdiction, "version": version})).mappings().first()
    return dict(row) if row else None


async def add_screening(
    conn: AsyncConnection, screening_id: str, cmd: commands.Screen, outcome: dict[str, Any]
) -> None:
    await conn.execute(
        _ADD_SCREENING,
        {
            "screening_id": screening_id,
            "jurisdiction": cmd.jurisdiction,
            "referral_type": cmd.referral_type,
            "offense_codes": list(cmd.offense_codes),
            "exclusions_present": list(cmd.exclusions_present),
            **outcome,
            "reasons": json.dumps(outcome["reasons"]),
        },
    )


async def add_discretion(
    conn: AsyncConnection, record_id: str, cmd: commands.RecordDiscretion, by: str, at: datetime
) -> None:
    await conn.execute(
        _ADD_DISCRETION,
        {
            "record_id": record_id,
            "jurisdiction": cmd.jurisdiction,
            "offense_codes": list(cmd.offense_codes),
            "reason": cmd.reason,
            "officer_badge": cmd.officer_badge,
            "race": cmd.race,
            "ethnicity": cmd.ethnicity,
            "gender": cmd.gender,
            "age_band": cmd.age_band,
            "recorded_by": by,
            "recorded_at": at,
        },
    )


# The provider holding a person: the one named in the latest hand-off of any of their referrals (links followed).
_CURRENT_PROVIDER = sa.text(
    """
    SELECT r.handoff_agency FROM referrals r
    LEFT JOIN participant_links l ON l.merged_participant_id = r.participant_id
    WHERE COALESCE(l.survivor_participant_id, r.participant_id) = CAST(:participant_id AS uuid)
      AND r.handoff_agency IS NOT NULL
    ORDER BY r.handoff_at DESC NULLS LAST
    LIMIT 1
    """
)


async def current_provider(conn: AsyncConnection, participant_id: str) -> str | None:
    return (await conn.execute(_CURRENT_PROVIDER, {"participant_id": participant_id})).scalar()
