"""What decisions read (consent grants, site grants, break-glass) and what they write (the decision log)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.domain.commands import BreakGlass, DecideAccess, IssueSiteGrant
from consent.domain.policy import Basis, Verdict

# Every candidate basis for one (participant, requester) in one round trip, read fresh: no cache to outlive a
# revocation. The pure decision (consent.domain.policy.decide) checks categories, purposes and periods.
_BASES = sa.text(
    """
    SELECT 'consent' AS kind, c.consent_id::text AS id, g.categories, g.purposes,
           c.effective_at AS starts_at, c.expires_at AS ends_at,
           (c.state <> 'active' OR g.revoked_at IS NOT NULL) AS void
    FROM consent_grants g JOIN consents c ON c.consent_id = g.consent_id
    WHERE g.participant_id = CAST(:participant_id AS uuid) AND g.recipient_agency = :agency
      AND c.jurisdiction = :jurisdiction
    UNION ALL
    SELECT 'site_grant', grant_id::text, categories, purposes, issued_at, NULL, withdrawn_at IS NOT NULL
    FROM site_grants
    WHERE jurisdiction = :jurisdiction AND recipient_agency_type = :agency_type
      AND (recipient_agency IS NULL OR recipient_agency = :agency)
    UNION ALL
    SELECT 'break_glass', break_glass_id::text, categories, ARRAY['BTG'], invoked_at, expires_at, false
    FROM break_glass
    WHERE participant_id = CAST(:participant_id AS uuid) AND requester_agency = :agency
      AND jurisdiction = :jurisdiction
    """
)
_ADD_DECISION = sa.text(
    """
    INSERT INTO access_decisions (decision_id, participant_id, jurisdiction, requester_agency, requester_agency_type,
                                  requester_client, acting_person, category, purpose, decision, basis_kind, basis_id,
                                  decided_at, flags)
    VALUES (CAST(:decision_id AS uuid), CAST(:participant_id AS uuid), :jurisdiction, :requester_agency,
            :requester_agency_type, :requester_client, :acting_person, :category, :purpose, :decision, :basis_kind,
            :basis_id, :decided_at, :flags)
    """
)
_ADD_SITE_GRANT = sa.text(
    """
    INSERT INTO site_grants (grant_id, jurisdiction, recipient_agency_type, recipient_agency, categories, purposes,
                             issued_by, issued_at)
    VALUES (CAST(:grant_id AS uuid), :jurisdiction, :recipient_agency_type, :recipient_agency, :categories, :purposes,
            :issued_by, :issued_at)
    """
)
_WITHDRAW_SITE_GRANT = sa.text(
    "UPDATE site_grants SET withdrawn_at = COALESCE(withdrawn_at, :at) WHERE grant_id = CAST(:grant_id AS uuid)"
)
_SITE_GRANTS = sa.text(
    "SELECT grant_id::text, jurisdiction, recipient_agency_type, recipient_agency, categories, purposes, issued_by, "
    "issued_at, withdrawn_at FROM site_grants WHERE jurisdiction = :jurisdiction ORDER BY issued_at, grant_id"
)
_SITE_GRANT = sa.text("SELECT grant_id::text, jurisdiction FROM site_grants WHERE grant_id = CAST(:grant_id AS uuid)")
_ADD_BREAK_GLASS = sa.text(
    """
    INSERT INTO break_glass (break_glass_id, participant_id, jurisdiction, requester_agency, requester_agency_type,
                             acting_person, categories, reason, invoked_at, expires_at)
    VALUES (CAST(:break_glass_id AS uuid), CAST(:participant_id AS uuid), :jurisdiction, :requester_agency,
            :requester_agency_type, :acting_person, :categories, :reason, :invoked_at, :expires_at)
    """
)


async def bases(conn: AsyncConnection, request: DecideAccess) -> list[Basis]:
    rows = await conn.execute(
        _BASES,
        {
            "participant_id": request.participant_id,
            "agency": request.requester_agency,
            "agency_type": request.requester_agency_type,
            "jurisdiction": request.jurisdiction,
        },
    )
    return [
        Basis(r.kind, r.id, frozenset(r.categories), frozenset(r.purposes), r.starts_at, r.ends_at, r.void)
        for r in rows
    ]


async def add_decisions(conn: AsyncConnection, decided: list[tuple[str, DecideAccess, Verdict]], now: datetime) -> None:
    await conn.execute(
        _ADD_DECISION,
        [
            {
                "decision_id": decision_id,
                "participant_id": cmd.participant_id,
                "jurisdiction": cmd.jurisdiction,
                "requester_agency": cmd.requester_agency,
                "requester_agency_type": cmd.requester_agency_type,
                "requester_client": cmd.requester_client,
                "acting_person": cmd.acting_person,
                "category": cmd.category,
                "purpose": cmd.purpose,
                "decision": verdict.decision,
                "basis_kind": verdict.basis_kind,
                "basis_id": verdict.basis_id,
                "decided_at": now,
                "flags": [*verdict.flags, *(["what_if"] if cmd.what_if else [])],
            }
            for decision_id, cmd, verdict in decided
        ],
    )


async def add_site_grant(conn: AsyncConnection, grant_id: str, cmd: IssueSiteGrant, now: datetime) -> None:
    await conn.execute(
        _ADD_SITE_GRANT,
        {
            "grant_id": grant_id,
            "jurisdiction": cmd.jurisdiction,
            "recipient_agency_type": cmd.recipient_agency_type,
            "recipient_agency": cmd.recipient_agency,
            "categories": list(cmd.categories),
            "purposes": list(cmd.purposes),
            "issued_by": cmd.issued_by,
            "issued_at": now,
        },
    )


async def withdraw_site_grant(conn: AsyncConnection, grant_id: str, now: datetime) -> None:
    await conn.execute(_WITHDRAW_SITE_GRANT, {"grant_id": grant_id, "at": now})


async def site_grants(conn: AsyncConnection, jurisdiction: str) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(_SITE_GRANTS, {"jurisdiction": jurisdiction})).mappings()]


async def site_grant_jurisdiction(conn: AsyncConnection, grant_id: str) -> str | None:
    row = (await conn.execute(_SITE_GRANT, {"grant_id": grant_id})).first()
    return row.jurisdiction if row else None


async def add_break_glass(
    conn: AsyncConnection, break_glass_id: str, cmd: BreakGlass, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        _ADD_BREAK_GLASS,
        {
            "break_glass_id": break_glass_id,
            "participant_id": cmd.participant_id,
            "jurisdiction": cmd.jurisdiction,
            "requester_agency": cmd.requester_agency,
            "requester_agency_type": cmd.requester_agency_type,
            "acting_person": cmd.acting_person,
            "categories": list(cmd.categories),
            "reason": cmd.reason,
            "invoked_at": now,
            "expires_at": expires_at,
        },
    )


# The participants a requester could currently read for a category and purpose: a prefilter for list and
# export paths, so totals and pages count only what may be served. It decides nothing: each served row is
# still decided (and recorded) one by one, and a row denied then is dropped.
_SCOPE_CONSENTS = sa.text(
    """
    SELECT DISTINCT g.participant_id::text
    FROM consent_grants g JOIN consents c ON c.consent_id = g.consent_id
    WHERE g.recipient_agency = :agency AND c.jurisdiction = :jurisdiction AND c.state = 'active'
      AND g.revoked_at IS NULL AND :category = ANY(g.categories) AND :purpose = ANY(g.purposes)
      AND c.effective_at <= :now AND :now < c.expires_at
    UNION
    SELECT DISTINCT participant_id::text FROM break_glass
    WHERE requester_agency = :agency AND jurisdiction = :jurisdiction AND :purpose = 'BTG'
      AND :category = ANY(categories) AND invoked_at <= :now AND :now < expires_at
    """
)
_SCOPE_SITE = sa.text(
    """
    SELECT EXISTS (
        SELECT 1 FROM site_grants
        WHERE jurisdiction = :jurisdiction AND recipient_agency_type = :agency_type
          AND (recipient_agency IS NULL OR recipient_agency = :agency) AND withdrawn_at IS NULL
          AND :category = ANY(categories) AND :purpose = ANY(purposes) AND issued_at <= :now
    )
    """
)


async def scope(conn: AsyncConnection, params: dict[str, Any]) -> tuple[bool, list[str]]:
    """(everyone, participant ids) the requester could read; the site grant covers everyone."""
    if (await conn.execute(_SCOPE_SITE, params)).scalar():
        return True, []
    return False, list((await conn.execute(_SCOPE_CONSENTS, params)).scalars())
