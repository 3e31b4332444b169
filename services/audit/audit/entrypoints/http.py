"""Routes for auditors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from audit.adapters import store
from audit.domain import chain
from divert_kernel.auth import Principal, require
from divert_kernel.deps import Engine

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(require("auditor"))]


class VerificationOut(BaseModel):
    valid: bool
    entries: int
    head_hash: str
    first_bad_entry: int | None = None
    problem: str | None = None


@router.get("/verification", response_model=VerificationOut)
async def verify_chain(principal: Auditor, engine: Engine) -> VerificationOut:
    """Recompute the hash chain; names the first entry that was inserted, deleted, reordered or altered."""
    rows, head_seq, head_hash = await store.snapshot(engine)
    return VerificationOut(**chain.verify(rows, head_seq, head_hash).__dict__)
