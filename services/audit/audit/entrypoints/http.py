"""Routes for auditors and for a participant's accounting of disclosures; every attempt is itself audited."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from audit.adapters import store
from divert_kernel.auth import CurrentPrincipal, Principal
from divert_kernel.deps import Engine
from divert_kernel.errors import Forbidden, InvalidInput

router = APIRouter(tags=["audit"])

DISCLOSURE_READERS = ("case_management", "auditor")


class VerificationOut(BaseModel):
    valid: bool
    entries: int
    head_hash: str
    first_bad_entry: int | None = None
    problem: str | None = None


class DisclosureOut(BaseModel):
    decision_id: str
    recipient_agency: str
    recipient_agency_type: str
    acting_person: str | None
    category: str
    purpose: str
    decision: str
    basis_kind: str
    basis_id: str | None
    flags: list[str]
    decided_at: datetime


class DisclosurePage(BaseModel):
    items: list[DisclosureOut]
    next_cursor: str | None = Field(description="pass as cursor for older entries; None at the oldest")


def _actor(principal: Principal) -> dict[str, Any]:
    return {
        "agency": principal.agency,
        "agency_type": principal.agency_type,
        "client": principal.client_id,
        "person": principal.person,
    }


async def _audited(
    request: Request, principal: Principal, resource: str, allowed: bool, subject: str | None = None
) -> None:
    outcome = "permit" if allowed else "deny"
    await request.app.state.handlers.note_read(request.app.state.engine, resource, _actor(principal), outcome, subject)
    if not allowed:
        raise Forbidden(
            f"this is for agency types: {', '.join(DISCLOSURE_READERS if resource == 'disclosures' else ('auditor',))}"
        )


@router.get("/v1/audit/verification", response_model=VerificationOut)
async def verify_chain(request: Request, principal: CurrentPrincipal, engine: Engine) -> VerificationOut:
    """Recompute the hash chain; names the first entry that was inserted, deleted, reordered or altered."""
    await _audited(request, principal, "verification", principal.agency_type == "auditor")
    return VerificationOut(**(await store.verify(engine)).__dict__)


def _cursor(item: dict[str, Any]) -> str:
    raw = json.dumps([item["decided_at"].isoformat(), item["decision_id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _before(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        at, decision_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(at), str(UUID(decision_id))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidInput("the cursor is not one this API issued", field="cursor") from None


@router.get("/v1/participants/{participant_id}/disclosures", response_model=DisclosurePage)
async def disclosures(
    request: Request,
    participant_id: UUID,
    principal: CurrentPrincipal,
    engine: Engine,
    include_denied: Annotated[bool, Query(description="auditors only: also the refused attempts")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DisclosurePage:
    """The participant's accounting of disclosures, newest first: who read what, for what, on which basis."""
    allowed = principal.agency_type in DISCLOSURE_READERS and (not include_denied or principal.agency_type == "auditor")
    await _audited(request, principal, "disclosures", allowed, str(participant_id))
    async with engine.connect() as conn:
        rows = await store.disclosures(
            conn,
            str(participant_id),
            sorted(principal.jurisdictions),
            include_denied=include_denied,
            before=_before(cursor),
            limit=limit,
        )
    items = [
        DisclosureOut(
            recipient_agency=r.pop("requester_agency"), recipient_agency_type=r.pop("requester_agency_type"), **r
        )
        for r in rows
    ]
    next_cursor = _cursor(rows[-1] | {"decided_at": items[-1].decided_at}) if len(rows) == limit else None
    return DisclosurePage(items=items, next_cursor=next_cursor)
