"""Who may read a participant's record here: the case-management agency in full, others through the gate."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from casemgmt.adapters import store
from casemgmt.domain.errors import ParticipantNotFound
from divert_contracts.vocabulary import DEFAULT_PURPOSE
from divert_kernel.auth import Principal
from divert_kernel.deps import Engine
from divert_kernel.gate import ConsentGate

OWNER_TYPE = "case_management"


async def visible(engine: Engine, participant_id: UUID, principal: Principal) -> dict[str, Any] | None:
    """The participant's row if it is in one of the caller's jurisdictions."""
    async with engine.connect() as conn:
        row = await store.get(conn, str(participant_id))
    return row if row is not None and row["jurisdiction"] in principal.jurisdictions else None


async def owned(engine: Engine, participant_id: UUID, principal: Principal) -> dict[str, Any]:
    row = await visible(engine, participant_id, principal)
    if row is None:
        raise ParticipantNotFound()
    return row


async def readable(
    engine: Engine, gate: ConsentGate, participant_id: UUID, principal: Principal, category: str, purpose: str | None
) -> tuple[bool, dict[str, Any]]:
    """(is the owner, row). Others need a permit for `category`; an unknown id is refused like a withheld one."""
    if principal.agency_type == OWNER_TYPE:
        return True, await owned(engine, participant_id, principal)
    row = await visible(engine, participant_id, principal)
    await gate.require_read(
        principal,
        participant_id=str(participant_id),
        jurisdiction=row["jurisdiction"] if row else None,
        category=category,
        purpose=purpose or DEFAULT_PURPOSE[principal.agency_type],
    )
    assert row is not None  # require_read refuses an unknown participant
    return False, row
