"""Consents, grants and decisions in the consent service's own database. No cache: revocation is immediate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.domain.commands import DecideAccess, RecordConsent

_ADD_CONSENT = sa.text(
    """
    INSERT INTO consents (consent_id, participant_id, jurisdiction, disclosing_agency, effective_at, expires_at,
                          signed_document_sha256, created_at)
    VALUES (CAST(:consent_id AS uuid), CAST(:participant_id AS uuid), :jurisdiction, :disclosing_agency,
            :effective_at, :expires_at, :signed_document_sha256, :created_at)
    """
)
_ADD_GRANT = sa.text(
    """
    INSERT INTO consent_grants (consent_id, recipient_agency, participant_id, categories, purposes)
    VALUES (CAST(:consent_id AS uuid), :recipient_agency, CAST(:participant_id AS uuid), :categories, :purposes)
    """
)
_REVOKE_ALL = sa.text("UPDATE consents SET revoked_at = :at WHERE consent_id = CAST(:consent_id AS uuid);")
_REVOKE_GRANTS = sa.text(
    "UPDATE consent_grants SET revoked_at = COALESCE(revoked_at, :at) WHERE consent_id = CAST(:consent_id AS uuid) "
    "AND (CAST(:recipient_agency AS text) IS NULL OR recipient_agency = :recipient_agency)"
)
_PERMITTING_CONSENT = sa.text(
    """
    SELECT c.consent_id::text
    FROM consent_grants g JOIN consents c ON c.consent_id = g.consent_id
    WHERE g.participant_id = CAST(:participant_id AS uuid)
      AND g.recipient_agency = :requester_agency
      AND c.jurisdiction = :jurisdiction
      AND :category = ANY(g.categories)
      AND :purpose = ANY(g.purposes)
      AND g.revoked_at IS NULL AND c.revoked_at IS NULL
      AND c.effective_at <= :now AND :now < c.expires_at
    ORDER BY c.effective_at DESC
    LIMIT 1
    """
)
_ADD_DECISION = sa.text(
    """
    INSERT INTO access_decisions (decision_id, participant_id, jurisdiction, requester_agency, requester_agency_type,
                                  requester_client, acting_person, category, purpose, decision, basis_kind, basis_id,
                                  decided_at)
    VALUES (CAST(:decision_id AS uuid), CAST(:participant_id AS uuid), :jurisdiction, :requester_agency,
            :requester_agency_type, :requester_client, :acting_person, :category, :purpose, :decision, :basis_kind,
            :basis_id, :decided_at)
    """
)
_GET_CONSENT = sa.text(
    """
    SELECT c.consent_id::text, c.participant_id::text, c.jurisdiction, c.disclosing_agency, c.effective_at,
           c.expires_at, c.signed_document_sha256, c.revoked_at, c.created_at,
           json_agg(json_build_object('recipient_agency', g.recipient_agency, 'categories', g.categories,
                                      'purposes', g.purposes, 'revoked_at', g.revoked_at)
                    ORDER BY g.recipient_agency) AS grants
    FROM consents c JOIN consent_grants g ON g.consent_id = c.consent_id
    WHERE c.consent_id = CAST(:consent_id AS uuid)
    GROUP BY c.consent_id
    """
)


async def add_consent(conn: AsyncConnection, consent_id: str, cmd: RecordConsent, now: datetime) -> None:
    await conn.execute(
        _ADD_CONSENT,
        {
            "consent_id": consent_id,
            "participant_id": cmd.participant_id,
            "jurisdiction": cmd.jurisdiction,
            "disclosing_agency": cmd.disclosing_agency,
            "effective_at": cmd.effective_at,
            "expires_at": cmd.expires_at,
            "signed_document_sha256": cmd.signed_document_sha256,
            "created_at": now,
        },
    )
    await conn.execute(
        _ADD_GRANT,
        [
            {
                "consent_id": consent_id,
                "participant_id": cmd.participant_id,
                "recipient_agency": g.recipient_agency,
                "categories": list(g.categories),
                "purposes": list(g.purposes),
            }
            for g in cmd.grants
        ],
    )


async def revoke(conn: AsyncConnection, consent_id: str, recipient_agency: str | None, at: datetime) -> None:
    if recipient_agency is None:
        await conn.execute(_REVOKE_ALL, {"consent_id": consent_id, "at": at})
    await conn.execute(_REVOKE_GRANTS, {"consent_id": consent_id, "recipient_agency": recipient_agency, "at": at})


async def permitting_consent(conn: AsyncConnection, cmd: DecideAccess, now: datetime) -> str | None:
    params = {
        "participant_id": cmd.participant_id,
        "requester_agency": cmd.requester_agency,
        "jurisdiction": cmd.jurisdiction,
        "category": cmd.category,
        "purpose": cmd.purpose,
        "now": now,
    }
    return (await conn.execute(_PERMITTING_CONSENT, params)).scalar()


async def add_decision(conn: AsyncConnection, decision_id: str, cmd: DecideAccess, **outcome: Any) -> None:
    await conn.execute(_ADD_DECISION, {"decision_id": decision_id, **cmd.__dict__, **outcome})


async def get_consent(conn: AsyncConnection, consent_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_GET_CONSENT, {"consent_id": consent_id})).mappings().first()
    return dict(row) if row else None
