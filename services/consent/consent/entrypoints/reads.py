"""Who reads a participant's consents: the provider holding the participant, auditors, and others through the gate.

The consent service asks itself through the same gate client every service uses (divert_kernel.access), minus
the network hop: the decision is made and recorded exactly as for any other service's read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.adapters import relations
from consent.domain import commands
from consent.entrypoints.decisions import decide_command
from consent.entrypoints.schemas import AccessRequestIn
from divert_contracts.vocabulary import DEFAULT_PURPOSE
from divert_kernel.access import Owner, in_reach, read_one
from divert_kernel.auth import Principal
from divert_kernel.errors import Unavailable
from divert_kernel.gate import ConsentGate
from divert_kernel.messagebus import MessageBus

# What another agency must be permitted to read a participant's consents (who may see which of its records).
CATEGORY = "referral"


class LocalGate(ConsentGate):
    """The kernel's gate client, answered in-process by this service's own decision handler."""

    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus

    async def close(self) -> None:
        return None

    async def _ask(self, principal: Principal, path: str, body: dict[str, Any]) -> Any:
        if path == "/v1/access-decisions":
            asked = (body,)
        elif path == "/v1/access-decisions/batch":
            asked = tuple(body["requests"])
        else:
            raise Unavailable("the consent service cannot answer this question; the read is refused")
        requests = tuple(decide_command(AccessRequestIn.model_validate(b), principal) for b in asked)
        decided = [d.as_dict() for d in await self._bus.handle(commands.DecideMany(requests))]
        return decided[0] if path == "/v1/access-decisions" else {"decisions": decided}


def _self_gate(request: Request) -> ConsentGate:
    return LocalGate(request.app.state.bus)


SelfGate = Annotated[ConsentGate, Depends(_self_gate)]


async def owner_of(conn: AsyncConnection, jurisdiction: str, participant_id: str) -> Owner:
    """A participant's consents belong to the provider holding the participant in that jurisdiction."""
    return Owner(jurisdiction, await relations.holder(conn, jurisdiction, participant_id))


async def check_read(gate: ConsentGate, principal: Principal, owner: Owner | None, participant_id: str) -> None:
    """Returns when the caller may read; else Forbidden, alike for withheld and unknown (the gate asked either way)."""
    if principal.agency_type == "auditor" and in_reach(principal, owner):
        return  # oversight reads every consent of its jurisdictions
    purpose = DEFAULT_PURPOSE[principal.agency_type]
    await read_one(gate, principal, owner, participant_id=participant_id, category=CATEGORY, purpose=purpose)
