"""The decision log and the break-glass uses, projected from AccessDecided and BreakGlassInvoked (projections.py);
the reasons written for break-glass; the scope prefilter for lists. What decisions read: gate_store.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.adapters import relations
from consent.domain.mou import Mou
from divert_contracts.consent import AccessDecided, BreakGlassInvoked
from divert_kernel.projection import Fact

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


def decision_row(e: AccessDecided, jurisdiction: str, client_id: str) -> dict[str, Any]:
    """A decision's row in the log, as projected (here) and as recorded live (gate_store.record): one shape."""
    return {
        "decision_id": e.decision_id,
        "participant_id": e.participant_id,
        "jurisdiction": jurisdiction,
        "requester_agency": e.requester_agency,
        "requester_agency_type": e.requester_agency_type,
        "requester_client": client_id,
        "acting_person": e.acting_person,
        "category": e.category,
        "purpose": e.purpose,
        "decision": e.decision,
        "basis_kind": e.basis_kind,
        "basis_id": e.basis_id,
        "decided_at": e.decided_at,
        "flags": list(e.flags),
    }


async def add_decisions(conn: AsyncConnection, decided: Sequence[Fact]) -> None:
    """Project decisions in one multi-row statement (a rebuild's replay: live, gate_store.record writes the rows
    with their events). The requester's client is the one that caused the event (its metadata's actor): a client
    id is no personal data, and the decision event need not repeat it."""
    rows = []
    for fact in decided:
        assert isinstance(fact.event, AccessDecided)
        rows.append(decision_row(fact.event, fact.jurisdiction, fact.actor.client_id))
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
