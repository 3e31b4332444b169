"""Thin routes for the prosecutor's held charges."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from divert_kernel.auth import Principal, require
from divert_kernel.deps import Bus, Engine
from prosecution.adapters import store
from prosecution.domain.commands import FileHeldCharge
from prosecution.domain.errors import HeldChargeNotFound

router = APIRouter(prefix="/v1/held-charges", tags=["held charges"])

Prosecutor = Annotated[Principal, Depends(require("prosecutor"))]
AnyAgency = Annotated[Principal, Depends(require())]


class HeldChargeOut(BaseModel):
    referral_id: str
    jurisdiction: str
    participant_id: str
    offense_codes: list[str]
    status: Literal["held", "closed_by_intake", "lapsed", "filed", "not_filed", "returned_to_ordinary_processing"]
    intake_deadline: date
    held_at: datetime
    closed_at: datetime | None


class FilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meets_filing_standards: Literal[True]


class FilingOut(BaseModel):
    referral_id: str
    status: str


async def _visible(engine: Engine, referral_id: UUID, principal: Principal) -> dict:  # type: ignore[type-arg]
    async with engine.connect() as conn:
        row = await store.get(conn, str(referral_id))
    if row is None or row["jurisdiction"] not in principal.jurisdictions:
        raise HeldChargeNotFound()
    return row


@router.get("/{referral_id}", response_model=HeldChargeOut)
async def get_held_charge(referral_id: UUID, principal: Prosecutor, engine: Engine) -> HeldChargeOut:
    """The diverted charge held pending intake, with its intake deadline."""
    return HeldChargeOut(**await _visible(engine, referral_id, principal))


@router.post("/{referral_id}/filing", response_model=FilingOut)
async def file_held_charge(
    referral_id: UUID, body: FilingIn, principal: AnyAgency, bus: Bus, engine: Engine
) -> FilingOut:
    """File a held charge after the intake window lapsed. Refused (409) for ever once intake closed it."""
    await _visible(engine, referral_id, principal)
    status = await bus.handle(FileHeldCharge(str(referral_id), principal.agency_type))
    return FilingOut(referral_id=str(referral_id), status=status)
