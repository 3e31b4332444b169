"""The audit service's derived tables, projected from its hash chain.

The chain (`audit_log`, its head and its signed checkpoints) is the audit service's store of facts: every event it
took in, in the order it took them in, each entry hashed over the one before. It is not a projection: rebuilding it
would re-hash what the checkpoints already sealed and published. What is derived from it — the accounting of
disclosures (with the break-glass uses, a filter of it) and who holds each participant — is projected from each
entry as it is chained, in the same transaction, and `divert projections rebuild audit` replays the chain into
them (`--verify`: the derived tables equal a replay of the chain).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from audit.adapters import accounting
from divert_contracts.consent import AccessDecided
from divert_contracts.referral import WarmHandoffCompleted
from divert_kernel.context import Actor
from divert_kernel.events import load_event, parse_type
from divert_kernel.projection import Fact, History, Projections


def entry_fact(seq: int, entry: Any) -> Fact | None:
    """A chained entry as the projectors take it; None for the log's own entries (reads of it), for an event type
    this service has no contract for, and for an entry that is not one any more."""
    if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
        return None
    try:
        service, name, version = parse_type(str(entry.get("type")))
        event = load_event(service, name, version, entry["data"])
        time = datetime.fromisoformat(str(entry.get("occurred_at")))
    except (ValueError, ValidationError):
        return None
    if event is None:
        return None
    actor = entry.get("actor") if isinstance(entry.get("actor"), dict) else {}
    return Fact(
        event=event,
        event_id=str(entry.get("event_id")),
        actor=Actor(
            client_id=actor.get("client") or "system",
            agency=actor.get("agency") or "divert",
            agency_type=actor.get("agency_type") or "system",
            person=actor.get("person"),
        ),
        source=service,
        jurisdiction=str(entry.get("jurisdiction")),
        subject=str(entry.get("subject")),
        time=time,
        version=0,  # the chain keeps no stream versions; no projector here needs one
        position=seq,
    )


projections = Projections(
    service="audit",
    tables=("disclosures", "participant_holders"),
    history=History(
        select="SELECT seq AS position, entry FROM audit_log WHERE seq > :after",
        fact=lambda row: entry_fact(int(row.position), row.entry),
    ),
)


@projections.on(AccessDecided)
async def access_decided(conn: AsyncConnection, fact: Fact) -> None:
    """A decision enters the participant's accounting, unless it was an auditor's what-if (nothing disclosed)."""
    decided = fact.event
    assert isinstance(decided, AccessDecided)
    if "what_if" not in decided.flags:
        await accounting.add_disclosure(conn, decided, fact.jurisdiction)


@projections.on(WarmHandoffCompleted)
async def handed_off(conn: AsyncConnection, fact: Fact) -> None:
    handoff = fact.event
    assert isinstance(handoff, WarmHandoffCompleted)
    if handoff.case_management_agency:
        await accounting.handed_off(
            conn, handoff.participant_id, fact.jurisdiction, handoff.case_management_agency, handoff.completed_at
        )
