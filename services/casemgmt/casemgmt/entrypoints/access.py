"""Whose a participant's case-management records are: the provider named in the latest warm hand-off.

That provider (in the participant's jurisdiction) reads and writes them in full; every other agency, another
case-management provider included, reads only through divert_kernel.access and never writes. Writes by
anyone but the holder are answered exactly as for an unknown participant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from casemgmt.adapters import listing, store
from casemgmt.domain.errors import ParticipantNotFound
from divert_contracts.vocabulary import DEFAULT_PURPOSE
from divert_kernel.access import OWN, Owner, Read, in_reach, owns, read_one, read_rows
from divert_kernel.auth import Principal
from divert_kernel.gate import ConsentGate

Row = dict[str, Any]


def owner_of(row: Mapping[str, Any] | None) -> Owner | None:
    return None if row is None else Owner(row["jurisdiction"], row["holder"])


def purpose_of(principal: Principal, purpose: str | None) -> str:
    return purpose or DEFAULT_PURPOSE[principal.agency_type]


async def _row(engine: AsyncEngine, participant_id: UUID) -> Row | None:
    """The participant's row, the id resolved once through person matches (a merged id gives the survivor's)."""
    async with engine.connect() as conn:
        return await store.get(conn, str(participant_id))


async def held(engine: AsyncEngine, participant_id: UUID, principal: Principal) -> Row:
    """The participant's row, for a write by the provider that holds it; anyone else: ParticipantNotFound."""
    row = await _row(engine, participant_id)
    if not owns(principal, owner_of(row)):
        raise ParticipantNotFound()
    assert row is not None
    return row


async def reachable(engine: AsyncEngine, participant_id: UUID, principal: Principal) -> Row:
    """The participant's row if it is in one of the caller's jurisdictions (the OWG's writes); else not found."""
    row = await _row(engine, participant_id)
    if not in_reach(principal, owner_of(row)):
        raise ParticipantNotFound()
    assert row is not None
    return row


async def read(
    engine: AsyncEngine,
    gate: ConsentGate,
    participant_id: UUID,
    principal: Principal,
    category: str,
    purpose: str | None,
) -> tuple[Read, Row]:
    """The caller's read of one participant's `category`; withheld and unknown are refused alike.

    A merged record's id reads as its survivor: the row, and the decision asked, are the survivor's.
    """
    row = await _row(engine, participant_id)
    got = await read_one(
        gate,
        principal,
        owner_of(row),
        participant_id=row["participant_id"] if row else str(participant_id),
        category=category,
        purpose=purpose_of(principal, purpose),
    )
    assert row is not None  # read_one refuses an unknown participant
    return got, row


async def served_rows(
    engine: AsyncEngine,
    gate: ConsentGate,
    principal: Principal,
    *,
    jurisdiction: str,
    category: str,
    purpose: str | None,
    enrolment: str | None = None,
    status: str | None = None,
    intake_status: str | None = None,
) -> list[Row]:
    """Every row of a list the caller may be served, in cursor order: its own in full, others as decided.

    Withheld rows are absent, so nothing counted or paged from this list reveals them.
    """
    principal.check_jurisdiction(jurisdiction)
    purpose = purpose_of(principal, purpose)
    # A prefilter only: each row it lets through is still decided one by one.
    scope = await gate.scope(principal, jurisdiction=jurisdiction, category=category, purpose=purpose)
    filters = listing.Filters(
        jurisdiction, enrolment, status, intake_status, principal.agency, scope.everyone, sorted(scope.participant_ids)
    )
    async with engine.connect() as conn:
        rows = await listing.candidates(conn, filters)
    served = await read_rows(
        gate,
        principal,
        rows,
        owner_of=owner_of,
        participant_of=lambda r: r["participant_id"],
        categories=[category],
        purpose=purpose,
    )
    return [row for row, _ in served]


async def parts(
    gate: ConsentGate, principal: Principal, row: Row, categories: Iterable[str], purpose: str | None
) -> dict[str, Read]:
    """The parts of one known record the caller may read, by category, decided in one batch (each recorded)."""
    wanted = list(dict.fromkeys(categories))
    if owns(principal, owner_of(row)):
        return dict.fromkeys(wanted, OWN)
    asks = [(row["participant_id"], row["jurisdiction"], c) for c in wanted]
    decisions = await gate.decide_requests(principal, asks, purpose=purpose_of(principal, purpose))
    return {c: Read(owner=False, decision=d) for c, d in zip(wanted, decisions, strict=True) if d.permitted}


def obligations(reads: Iterable[tuple[str, Read | None]]) -> list[dict[str, Any]]:
    """What must travel with each part served (labels, the §2.32 notice), as the consent service gave it."""
    return [{**o, "category": category} for category, r in reads if r is not None for o in r.obligations]
