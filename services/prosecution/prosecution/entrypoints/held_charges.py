"""Thin routes for the prosecutor's held charges."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from divert_kernel.auth import Principal, require
from divert_kernel.deps import Bus, Engine
from prosecution.adapters import held_charges
from prosecution.domain.commands import DecideHeldCharge
from prosecution.domain.errors import HeldChargeNotFound
from prosecution.domain.model import HeldCharge

router = APIRouter(prefix="/v1/held-charges", tags=["held charges"])

Prosecutor = Annotated[Principal, Depends(require("prosecutor"))]
# Any agency may *ask* to act on a held charge so that the refusal explains the rule (non-coercion first).
AnyAgency = Annotated[Principal, Depends(require())]


class HeldChargeOut(BaseModel):
    referral_id: str
    jurisdiction: str
    participant_id: str
    offense_codes: list[str]
    charging_reference: str | None
    status: Literal["held", "closed_by_intake", "lapsed", "filed", "not_filed", "returned_to_ordinary_processing"]
    intake_deadline: date
    held_at: datetime
    lapsed_at: datetime | None
    closed_at: datetime | None


class FilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meets_filing_standards: Literal[True] = Field(description="the prosecutor's attestation; required")


class DecisionOut(BaseModel):
    referral_id: str
    status: str


async def _visible(engine: Engine, referral_id: UUID, principal: Principal) -> dict:  # type: ignore[type-arg]
    async with engine.connect() as conn:
        row = await held_charges.get(conn, str(referral_id))
    if row is None or row["jurisdiction"] not in principal.jurisdictions:
        raise HeldChargeNotFound()
    return row


@router.get("/{referral_id}", response_model=HeldChargeOut)
async def get_held_charge(referral_id: UUID, principal: Prosecutor, engine: Engine) -> HeldChargeOut:
    """The diverted charge held pending intake, with its intake deadline."""
    return HeldChargeOut(**await _visible(engine, referral_id, principal))


async def _decide(referral_id: UUID, principal: Principal, bus: Bus, engine: Engine, *, file: bool) -> DecisionOut:
    await _visible(engine, referral_id, principal)
    status = await bus.handle(DecideHeldCharge(str(referral_id), principal.agency_type, file=file))
    return DecisionOut(referral_id=str(referral_id), status=status)


@router.post("/{referral_id}/filing", response_model=DecisionOut)
async def file_held_charge(
    referral_id: UUID, body: FilingIn, principal: AnyAgency, bus: Bus, engine: Engine
) -> DecisionOut:
    """File after the intake window lapsed, attesting the case meets filing standards. Refused (409) for ever
    once intake closed it, whoever asks."""
    return await _decide(referral_id, principal, bus, engine, file=True)


@router.post("/{referral_id}/non-filing", response_model=DecisionOut)
async def decline_held_charge(referral_id: UUID, principal: AnyAgency, bus: Bus, engine: Engine) -> DecisionOut:
    """Decide not to file a charge whose intake window lapsed (HeldChargeNotFiled)."""
    return await _decide(referral_id, principal, bus, engine, file=False)


@router.post("/{referral_id}/abeyance", response_model=DecisionOut)
async def hold_in_abeyance(referral_id: UUID, principal: AnyAgency, bus: Bus, engine: Engine) -> DecisionOut:
    """Always refused (409) with the reason: a LEAD diverted charge is never held in abeyance."""
    await _visible(engine, referral_id, principal)
    async with bus.uow() as uow:
        charge = await uow.get(HeldCharge, str(referral_id))
        assert charge is not None
        charge.hold_in_abeyance()
    raise AssertionError("unreachable: hold_in_abeyance always refuses")


@router.post("/{referral_id}/reopening", response_model=DecisionOut)
async def reopen(referral_id: UUID, principal: AnyAgency, bus: Bus, engine: Engine) -> DecisionOut:
    """Always refused (409) with the reason: closed by intake is final, and a decided charge stays decided."""
    await _visible(engine, referral_id, principal)
    async with bus.uow() as uow:
        charge = await uow.get(HeldCharge, str(referral_id))
        assert charge is not None
        charge.reopen()
    raise AssertionError("unreachable: reopen always refuses")
