"""Consents and their grants in the consent service's own database, projected from the consent events (the writes
here run in projections.py). No cache anywhere: a revocation is a row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.domain.enrolment import HolderGrant
from divert_contracts.consent import ConsentDrafted, ConsentGranted

# A grant of a draft already recorded activates it (its terms and its record time stay as drafted).
_ADD_CONSENT = sa.text(
    """
    INSERT INTO consents (consent_id, participant_id, jurisdiction, disclosing_agency, effective_at, expires_at,
                          signed_document_sha256, created_at, state, wording_version, expires_on_event)
    VALUES (CAST(:consent_id AS uuid), CAST(:participant_id AS uuid), :jurisdiction, :disclosing_agency,
            :effective_at, :expires_at, :signed_document_sha256, :created_at, :state, :wording_version,
            :expires_on_event)
    ON CONFLICT (consent_id) DO UPDATE SET state = 'active', signed_document_sha256 = EXCLUDED.signed_document_sha256
    """
)
_ADD_GRANT = sa.text(
    """
    INSERT INTO consent_grants (consent_id, recipient_agency, participant_id, categories, purposes, irrevocable_until)
    VALUES (CAST(:consent_id AS uuid), :recipient_agency, CAST(:participant_id AS uuid), :categories, :purposes,
            :irrevocable_until)
    ON CONFLICT DO NOTHING
    """
)
_REVOKE_ALL = sa.text(
    "UPDATE consents SET revoked_at = :at, state = 'revoked' WHERE consent_id = CAST(:consent_id AS uuid)"
)
_REVOKE_GRANTS = sa.text(
    "UPDATE consent_grants SET revoked_at = COALESCE(revoked_at, :at) WHERE consent_id = CAST(:consent_id AS uuid) "
    "AND (CAST(:recipient_agency AS text) IS NULL OR recipient_agency = :recipient_agency)"
)
_EXPIRE = sa.text(
    "UPDATE consents SET expired_at = :at, state = 'expired' WHERE consent_id = CAST(:consent_id AS uuid)"
)
# Serialises the consents of one participant, so two overlapping consents cannot both slip in.
_LOCK_PARTICIPANT = sa.text("SELECT pg_advisory_xact_lock(hashtextextended('consent:' || :participant_id, 0))")
_LIVE_GRANTS = sa.text(
    """
    SELECT c.consent_id::text, g.recipient_agency, g.purposes
    FROM consent_grants g JOIN consents c ON c.consent_id = g.consent_id
    WHERE g.participant_id = CAST(:participant_id AS uuid) AND c.jurisdiction = :jurisdiction
      AND c.state = 'active' AND g.revoked_at IS NULL
      AND g.recipient_agency = ANY(CAST(:recipients AS text[]))
      AND c.effective_at < :expires_at AND :effective_at < c.expires_at AND :now < c.expires_at
      AND c.consent_id <> CAST(:consent_id AS uuid)
    """
)
_EXPIRING_ON_EXIT = sa.text(
    "SELECT consent_id::text FROM consents WHERE participant_id = CAST(:participant_id AS uuid) "
    "AND state = 'active' AND expires_on_event = 'program_exit'"
)
_CONSENT_ROWS = """
    SELECT c.consent_id::text, c.participant_id::text, c.jurisdiction, c.disclosing_agency, c.effective_at,
           c.expires_at, c.signed_document_sha256, c.revoked_at, c.created_at, c.state, c.wording_version,
           c.expires_on_event, c.expired_at,
           json_agg(json_build_object('recipient_agency', g.recipient_agency, 'categories', g.categories,
                                      'purposes', g.purposes, 'revoked_at', g.revoked_at,
                                      'irrevocable_until', g.irrevocable_until)
                    ORDER BY g.recipient_agency) AS grants
    FROM consents c JOIN consent_grants g ON g.consent_id = c.consent_id
"""
_GET_CONSENT = sa.text(_CONSENT_ROWS + " WHERE c.consent_id = CAST(:consent_id AS uuid) GROUP BY c.consent_id")
# Newest first, a page at a time: the cursor names the last consent served (keyset on created_at, consent_id).
_PARTICIPANT_CONSENTS = sa.text(
    _CONSENT_ROWS
    + " WHERE c.participant_id = CAST(:participant_id AS uuid) AND c.jurisdiction = :jurisdiction"
    + " AND (CAST(:after AS uuid) IS NULL OR (c.created_at, c.consent_id) <"
    + " (SELECT created_at, consent_id FROM consents WHERE consent_id = CAST(:after AS uuid)))"
    + " GROUP BY c.consent_id ORDER BY c.created_at DESC, c.consent_id DESC LIMIT :limit"
)
# Every grant naming the holder (few per participant; the grants' (participant, recipient) index finds them).
_HOLDER_GRANTS = sa.text(
    """
    SELECT c.consent_id::text, c.state, c.effective_at, c.expires_at, g.revoked_at, c.created_at
    FROM consent_grants g JOIN consents c ON c.consent_id = g.consent_id
    WHERE g.participant_id = CAST(:participant_id AS uuid) AND g.recipient_agency = :agency
      AND c.jurisdiction = :jurisdiction
    """
)


_VERSIONS = sa.text("SELECT version, type, recorded_at, data FROM events WHERE stream_id = :stream_id ORDER BY version")


async def versions(conn: AsyncConnection, consent_id: str) -> list[dict[str, Any]]:
    """Every version of a consent, oldest first, from its event stream: nothing is ever overwritten."""
    rows = await conn.execute(_VERSIONS, {"stream_id": f"consent-{consent_id}"})
    return [dict(r) for r in rows.mappings()]


async def lock_participant(conn: AsyncConnection, participant_id: str) -> None:
    await conn.execute(_LOCK_PARTICIPANT, {"participant_id": participant_id})


async def add_consent(
    conn: AsyncConnection,
    terms: ConsentDrafted | ConsentGranted,
    jurisdiction: str,
    disclosing_agency: str,
    at: datetime,
) -> None:
    """Project a drafted or granted consent (granting a recorded draft activates it)."""
    signed = terms.signed_document_sha256 if isinstance(terms, ConsentGranted) else None
    await conn.execute(
        _ADD_CONSENT,
        {
            "consent_id": terms.consent_id,
            "participant_id": terms.participant_id,
            "jurisdiction": jurisdiction,
            "disclosing_agency": disclosing_agency,
            "effective_at": terms.effective_at,
            "expires_at": terms.expires_at,
            "signed_document_sha256": signed,
            "created_at": at,
            "state": "draft" if signed is None else "active",
            "wording_version": terms.wording_version,
            "expires_on_event": terms.expires_on_event,
        },
    )
    await conn.execute(
        _ADD_GRANT,
        [
            {
                "consent_id": terms.consent_id,
                "participant_id": terms.participant_id,
                "recipient_agency": g.recipient_agency,
                "categories": list(g.categories),
                "purposes": list(g.purposes),
                "irrevocable_until": g.irrevocable_until,
            }
            for g in terms.grants
        ],
    )


async def live_grants_overlapping(
    conn: AsyncConnection,
    consent_id: str,
    participant_id: str,
    jurisdiction: str,
    recipients: list[str],
    effective_at: datetime,
    expires_at: datetime,
    now: datetime,
) -> list[tuple[str, str, list[str]]]:
    """(consent, recipient, purposes) of active grants whose period overlaps the given one."""
    rows = await conn.execute(
        _LIVE_GRANTS,
        {
            "consent_id": consent_id,
            "participant_id": participant_id,
            "jurisdiction": jurisdiction,
            "recipients": recipients,
            "effective_at": effective_at,
            "expires_at": expires_at,
            "now": now,
        },
    )
    return [(r.consent_id, r.recipient_agency, list(r.purposes)) for r in rows]


async def revoke(conn: AsyncConnection, consent_id: str, recipient_agency: str | None, at: datetime) -> None:
    if recipient_agency is None:
        await conn.execute(_REVOKE_ALL, {"consent_id": consent_id, "at": at})
    await conn.execute(_REVOKE_GRANTS, {"consent_id": consent_id, "recipient_agency": recipient_agency, "at": at})


async def expire(conn: AsyncConnection, consent_id: str, at: datetime) -> None:
    await conn.execute(_EXPIRE, {"consent_id": consent_id, "at": at})


async def expiring_on_exit(conn: AsyncConnection, participant_id: str) -> list[str]:
    return list((await conn.execute(_EXPIRING_ON_EXIT, {"participant_id": participant_id})).scalars())


async def get_consent(conn: AsyncConnection, consent_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_GET_CONSENT, {"consent_id": consent_id})).mappings().first()
    return dict(row) if row else None


async def consents_of(
    conn: AsyncConnection, participant_id: str, jurisdiction: str, after: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Up to `limit` of a participant's consents in one jurisdiction, newest first, after the consent `after`."""
    params = {"participant_id": participant_id, "jurisdiction": jurisdiction, "after": after, "limit": limit}
    return [dict(r) for r in (await conn.execute(_PARTICIPANT_CONSENTS, params)).mappings()]


async def grants_to(conn: AsyncConnection, participant_id: str, jurisdiction: str, agency: str) -> list[HolderGrant]:
    """The participant's consent grants naming `agency`, in any state."""
    params = {"participant_id": participant_id, "jurisdiction": jurisdiction, "agency": agency}
    return [HolderGrant(*r) for r in await conn.execute(_HOLDER_GRANTS, params)]
