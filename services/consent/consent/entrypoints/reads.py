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


async def _self_gate(request: Request) -> ConsentGate:
    return LocalGate(request.app.state.bus)


SelfGate = Annotated[ConsentGate, Depends(_self_gate)]


async def owner_of(conn: AsyncConnection, jurisdiction: str, participant_id: str) -> Owner:
    """A participant's consents belong to the provider holding the participant in that jurisdiction."""
    return Owner(jurisdiction, await relations.holder(conn, jurisdiction, participant_id))


async def check_read(gate: ConsentGate, principal: Principal, owner: Owner | None, participant_id: str) -> bool:
    """True for a full read (the holder, or an auditor of the jurisdiction); False for a recipient's read, which
    sees only what names it. Else Forbidden, alike for withheld and unknown (the gate asked either way)."""
    if principal.agency_type == "auditor" and in_reach(principal, owner):
        return True  # oversight reads every consent of its jurisdictions
    purpose = DEFAULT_PURPOSE[principal.agency_type]
    read = await read_one(gate, principal, owner, participant_id=participant_id, category=CATEGORY, purpose=purpose)
    return read.owner


def as_recipient(consent: dict[str, Any], agency: str) -> dict[str, Any] | None:
    """What a recipient may see of a consent: its own grants of a signed consent, or nothing at all.

    The rest (other recipients, their categories, e.g. a Part 2 grant) says more about the person than the
    recipient needs to know what it may receive."""
    mine = [g for g in consent["grants"] if g["recipient_agency"] == agency]
    if not mine or consent["state"] == "draft":
        return None
    return {**consent, "grants": mine}
