"""A participant's accounting of disclosures: for the provider holding the participant, and for auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.adapters import accounting
from audit.entrypoints.admission import admitted, before, cursor_after, note, plays
from divert_kernel.access import Owner, owns
from divert_kernel.auth import Principal
from divert_kernel.deps import Auditor, ConsentReader, Engine
from divert_kernel.errors import Forbidden
from divert_kernel.gate import not_permitted

router = APIRouter(tags=["audit"])


class DisclosureOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    decision_id: str
    recipient_agency: str
    recipient_agency_type: str
    acting_person: str | None
    category: str
    purpose: str
    decision: str
    basis_kind: str
    basis_id: str | None
    flags: list[str] = Field(description="`break_glass` marks an emergency read")
    decided_at: datetime


class DisclosurePage(BaseModel):
    items: list[DisclosureOut]
    next_cursor: str | None = Field(description="pass as cursor for older entries; None at the oldest")


async def _readable_in(engine: AsyncEngine, principal: Principal, participant_id: str, auditor: bool) -> list[str]:
    """The caller's jurisdictions whose accounting it may read: all for an auditor, else those where it holds
    the participant (the provider named in the latest hand-off). An unknown participant is held by no one."""
    mine = sorted(principal.jurisdictions)
    if auditor:
        return mine
    async with engine.connect() as conn:
        held = await accounting.holders(conn, participant_id, mine)
    return [j for j, agency in held.items() if owns(principal, Owner(j, agency))]


# The same readers as a participant's consents: the holding provider and auditors.
@router.get("/v1/participants/{participant_id}/disclosures", response_model=DisclosurePage)
async def disclosures(
    request: Request,
    participant_id: UUID,
    principal: Annotated[Principal, admitted(ConsentReader, "disclosures")],
    engine: Engine,
    include_denied: Annotated[bool, Query(description="auditors only: also the refused attempts")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DisclosurePage:
    """The participant's accounting of disclosures, newest first: who read what, for what, on which basis."""
    subject = str(participant_id)
    auditor = await plays(Auditor, principal)
    jurisdictions = await _readable_in(engine, principal, subject, auditor)
    await note(request, principal, "disclosures", bool(jurisdictions) and (auditor or not include_denied), subject)
    if not jurisdictions:
        raise not_permitted()  # another provider, another jurisdiction, or no such participant: alike
    if include_denied and not auditor:
        raise Forbidden("only auditors see refused attempts", field="include_denied")
    async with engine.connect() as conn:
        rows = await accounting.disclosures(
            conn, subject, jurisdictions, include_denied=include_denied, before=before(cursor), limit=limit
        )
    if auditor and not rows and cursor is None:
        # Nothing disclosed in the auditor's jurisdictions: a participant of another site, or none at all, alike.
        raise not_permitted()
    items = [
        DisclosureOut(recipient_agency=r["requester_agency"], recipient_agency_type=r["requester_agency_type"], **r)
        for r in rows
    ]
    next_cursor = cursor_after(rows[-1] | {"decided_at": items[-1].decided_at}) if len(rows) == limit else None
    return DisclosurePage(items=items, next_cursor=next_cursor)
