"""What decisions read (consent grants, relations, break-glass) and the decision log and break-glass uses they
project (from AccessDecided and BreakGlassInvoked, in projections.py); the reasons written for break-glass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.adapters import relations
from consent.domain.commands import DecideAccess
from consent.domain.mou import Mou
from consent.domain.policy import Basis
from divert_contracts.consent import AccessDecided, BreakGlassInvoked
from divert_kernel.projection import Fact

# Every candidate basis for one (participant, requester) in one round trip, read fresh: no cache to outlive a
# revocation. The pure decision (consent.domain.policy.decide) checks categories, purposes and periods. The
# requester's relations to the participant come along: they say which of the MOU's terms are its own.
_BASES = sa.text(
    """
    SELECT 'consent' AS kind, c.consent_id::text AS id, g.categories, g.purposes,
           c.effective_at AS starts_at, c.expires_at AS ends_at,
           (c.state <> 'active' OR g.revoked_at IS NOT NULL) AS void
    FROM consent_grants g JOIN consents c ON c.consent_id = g.consent_id
    WHERE g.participant_id = CAST(:participant_id AS uuid) AND g.recipient_agency = :agency
      AND c.jurisdiction = :jurisdiction
    UNION ALL
    SELECT 'break_glass', break_glass_id::text, categories, ARRAY['BTG'], invoked_at, expires_at, false
    FROM break_glass
    WHERE participant_id = CAST(:participant_id AS uuid) AND requester_agency = :agency
      AND jurisdiction = :jurisdiction
    UNION ALL
    SELECT 'relation', relation, CAST(ARRAY[] AS text[]), CAST(ARRAY[] AS text[]), since, NULL, false
    FROM participant_relations
    WHERE participant_id = CAST(:participant_id AS uuid) AND agency = :agency AND jurisdiction = :jurisdiction
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
_ADD_BREAK_GLASS = sa.text(
    """
    INSERT INTO break_glass (break_glass_id, participant_id, jurisdiction, requester_agency, requester_agency_type,
                             acting_person, categories, invoked_at, expires_at)
    VALUES (CAST(:break_glass_id AS uuid), CAST(:participant_id AS uuid), :jurisdiction, :requester_agency,
            :requester_agency_type, :acting_person, :categories, :invoked_at, :expires_at)
    """
)
# The written reason never travels in an event: a record, kept by a rebuild (consent migration 0006).
_ADD_REASON = sa.text(
    "INSERT INTO break_glass_reasons (break_glass_id, reason) VALUES (CAST(:break_glass_id AS uuid), :reason)"
)


async def bases(conn: AsyncConnection, request: DecideAccess) -> tuple[list[Basis], set[str]]:
    """The consent and break-glass bases, and the requester's relations to the participant."""
    rows = await conn.execute(
        _BASES,
        {
            "participant_id": request.participant_id,
            "agency": request.requester_agency,
            "jurisdiction": request.jurisdiction,
        },
    )
    found, related = [], set()
    for r in rows:
        if r.kind == "relation":
            related.add(r.id)
        else:
            found.append(
                Basis(r.kind, r.id, frozenset(r.categories), frozenset(r.purposes), r.starts_at, r.ends_at, r.void)
            )
    return found, related


async def add_decisions(conn: AsyncConnection, decided: Sequence[Fact]) -> None:
    """Project decisions in one multi-row statement. The requester's client is the one that caused the event (its
    metadata's actor): a client id is no personal data, and the decision event need not repeat it."""
    rows = []
    for fact in decided:
        e = fact.event
        assert isinstance(e, AccessDecided)
        rows.append(
            {
                "decision_id": e.decision_id,
                "participant_id": e.participant_id,
                "jurisdiction": fact.jurisdiction,
                "requester_agency": e.requester_agency,
                "requester_agency_type": e.requester_agency_type,
                "requester_client": fact.actor.client_id,
                "acting_person": e.acting_person,
                "category": e.category,
                "purpose": e.purpose,
                "decision": e.decision,
                "basis_kind": e.basis_kind,
                "basis_id": e.basis_id,
                "decided_at": e.decided_at,
                "flags": list(e.flags),
            }
        )
    await conn.execute(_ADD_DECISION, rows)


async def add_break_glass(conn: AsyncConnection, invoked: BreakGlassInvoked, jurisdiction: str) -> None:
    await conn.execute(
        _ADD_BREAK_GLASS,
        {
            "break_glass_id": invoked.break_glass_id,
            "participant_id": invoked.participant_id,
            "jurisdiction": jurisdiction,
            "requester_agency": invoked.requester_agency,
            "requester_agency_type": invoked.requester_agency_type,
            "acting_person": invoked.acting_person,
            "categories": list(invoked.categories),
            "invoked_at": invoked.invoked_at,
            "expires_at": invoked.expires_at,
        },
    )


async def keep_reason(conn: AsyncConnection, break_glass_id: str, reason: str) -> None:
    await conn.execute(_ADD_REASON, {"break_glass_id": break_glass_id, "reason": reason})


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


async def scope(conn: AsyncConnection, params: dict[str, Any], mou: Mou | None) -> tuple[bool, list[str]]:
    """(everyone, participant ids) the requester could read: a named-agency term covers everyone, a relation-bound
    term exactly the participants the relation gives the requester, plus its consents and break-glass."""
    if mou is not None and mou.covers_everyone(params["agency"], params["category"], params["purpose"]):
        return True, []
    ids = set((await conn.execute(_SCOPE_CONSENTS, params)).scalars())
    if mou is not None:
        covering = mou.relations_covering(params["category"], params["purpose"])
        ids |= set(await relations.held_by(conn, params["jurisdiction"], params["agency"], covering))
    return False, sorted(ids)
