"""Routes for auditors: verify the chain, the key that signs its checkpoints, the break-glass uses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from audit.adapters import accounting
from audit.entrypoints.admission import admitted, before, cursor_after, note
from audit.entrypoints.disclosures import DisclosureOut
from divert_kernel.auth import Principal
from divert_kernel.deps import Auditor, Engine
from divert_kernel.errors import Forbidden

router = APIRouter(tags=["audit"])


class VerificationOut(BaseModel):
    valid: bool
    entries: int
    head_hash: str
    first_bad_entry: int | None = Field(
        None, description="sequence of the first entry found inserted, removed, reordered, altered or rewritten"
    )
    first_bad_checkpoint: int | None = Field(None, description="sequence of the checkpoint that exposed it, if one did")
    problem: str | None = None
    published_checkpoint: int | None = Field(
        None, description="sequence of the newest checkpoint published outside the database, compared with"
    )


class KeySet(BaseModel):
    keys: list[dict[str, Any]] = Field(
        description="the Ed25519 public key (JWK, RFC 8037) that signs AuditCheckpointSealed; `kid` is its "
        "RFC 7638 thumbprint"
    )


class BreakGlassUse(DisclosureOut):
    """A disclosure decision flagged `break_glass`, with whose record it was."""

    participant_id: str
    jurisdiction: str


class BreakGlassPage(BaseModel):
    items: list[BreakGlassUse]
    next_cursor: str | None = Field(description="pass as cursor for older uses; None at the oldest")


@router.get("/v1/audit/verification", response_model=VerificationOut)
async def verify_chain(
    request: Request, principal: Annotated[Principal, admitted(Auditor, "verification")], engine: Engine
) -> VerificationOut:
    """Recompute the hash chain; names the first entry or checkpoint found inserted, removed, altered or forged."""
    await note(request, principal, "verification", True, None)
    report, compared = await request.app.state.handlers.verify(engine, getattr(request.app.state, "nats", None))
    return VerificationOut(**report.__dict__, published_checkpoint=compared)


@router.get("/v1/audit/checkpoint-key", response_model=KeySet)
async def checkpoint_key(request: Request) -> KeySet:
    """The public key that verifies every AuditCheckpointSealed, for anyone who keeps a copy of one."""
    return KeySet(keys=[request.app.state.handlers.key.public_jwk()])


@router.get("/v1/audit/break-glass", response_model=BreakGlassPage)
async def break_glass_uses(
    request: Request,
    principal: Annotated[Principal, admitted(Auditor, "break_glass")],
    engine: Engine,
    jurisdiction: Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[a-z0-9-]+$")],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> BreakGlassPage:
    """Every emergency (break-glass) read in a jurisdiction, and every refused attempt at one, newest first."""
    allowed = jurisdiction in principal.jurisdictions
    await note(request, principal, "break_glass", allowed, None)
    if not allowed:
        raise Forbidden("the token is not valid for this jurisdiction", field="jurisdiction")
    async with engine.connect() as conn:
        rows = await accounting.break_glass(conn, jurisdiction, before=before(cursor), limit=limit)
    items = [
        BreakGlassUse(recipient_agency=r["requester_agency"], recipient_agency_type=r["requester_agency_type"], **r)
        for r in rows
    ]
    next_cursor = cursor_after(rows[-1] | {"decided_at": items[-1].decided_at}) if len(rows) == limit else None
    return BreakGlassPage(items=items, next_cursor=next_cursor)
