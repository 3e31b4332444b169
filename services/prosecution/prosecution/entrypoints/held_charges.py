"""Thin routes for the prosecutor's held charges: the office holding a charge reads and decides it, no one else."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from divert_kernel.access import Owner, owns
from divert_kernel.auth import Principal
from divert_kernel.deps import AnyAgency, Bus, Engine, Prosecutor, SiteDirectory
from divert_kernel.errors import DivertError
from divert_kernel.sites import Sites
from prosecution.adapters import held_charges
from prosecution.domain.commands import DecideHeldCharge
from prosecution.domain.errors import (
    DecidedOnlyByTheHoldingOffice,
    HeldChargeNotFound,
    NeverInAbeyance,
    NeverReopened,
)
from prosecution.domain.model import HeldCharge

router = APIRouter(prefix="/v1/held-charges", tags=["held charges"])


class HeldChargeOut(BaseModel):
    referral_id: str
    jurisdiction: str
    prosecutor_agency: str = Field(description="the office holding the charge")
    participant_id: str
    offense_codes: list[str]
    charging_reference: str | None
    status: Literal[
        "held",
        "closed_by_intake",
        "closed_participant_enrolled",
        "lapsed",
        "filed",
        "not_filed",
        "returned_to_ordinary_processing",
    ]
    intake_deadline: date
    held_at: datetime
    lapsed_at: datetime | None
    closed_at: datetime | None
    closed_reason: Literal["intake_completed", "participant_enrolled"] | None = Field(
        description="why a closed charge closed: its own intake, or the participant was already enrolled when this "
        "diversion was offered (no new intake clock). Either way it can never be filed."
    )
    closed_explanation: str | None = Field(description="the same, in a sentence for the prosecutor")


CLOSED_EXPLANATIONS = {
    "intake_completed": "The participant completed intake for this diversion; the charge is closed for good.",
    "participant_enrolled": "The participant was already enrolled in LEAD when this diversion was offered, so no "
    "new intake clock started and the charge closed at once, for good.",
}


class FilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"meets_filing_standards": True}]})

    meets_filing_standards: Literal[True] = Field(description="the prosecutor's attestation; required")


class DecisionOut(BaseModel):
    referral_id: str
    status: str


def charge_owner(row: dict[str, Any], sites: Sites) -> Owner:
    """The office holding the charge; one held before offices were named is the site's prosecutor office's."""
    office = row["prosecutor_agency"]
    if office is None:
        site = sites.get(row["jurisdiction"])
        office = site.prosecutor_office if site else None
    return Owner(row["jurisdiction"], office)


async def _held_by_caller(engine: Engine, sites: Sites, referral_id: UUID, principal: Principal) -> dict[str, Any]:
    """The charge if the caller's office holds it. No other agency has any use for it (no gate is asked), so
    another office, the same agency id in another jurisdiction and an unknown id all get the same 404."""
    async with engine.connect() as conn:
        row = await held_charges.get(conn, str(referral_id))
    if row is None or not owns(principal, owner := charge_owner(row, sites)):
        raise HeldChargeNotFound()
    return row | {"prosecutor_agency": owner.agency}


def _only_prosecutors(principal: Principal, rule: DivertError) -> None:
    # Any agency may *ask*, so that the refusal explains the rule (non-coercion first); the answer is the same
    # whatever the record, so it reveals nothing of it.
    if principal.agency_type != "prosecutor":
        raise rule


@router.get("/{referral_id}", response_model=HeldChargeOut)
async def get_held_charge(
    referral_id: UUID, principal: Prosecutor, engine: Engine, sites: SiteDirectory
) -> HeldChargeOut:
    """The diverted charge held pending intake, with its intake deadline, and why it closed: for the office
    holding it."""
    row = await _held_by_caller(engine, sites, referral_id, principal)
    return HeldChargeOut(**row, closed_explanation=CLOSED_EXPLANATIONS.get(row["closed_reason"]))


async def _decide(
    referral_id: UUID, principal: Principal, bus: Bus, engine: Engine, sites: Sites, *, file: bool
) -> DecisionOut:
    _only_prosecutors(principal, DecidedOnlyByTheHoldingOffice())
    await _held_by_caller(engine, sites, referral_id, principal)
    status = await bus.handle(DecideHeldCharge(str(referral_id), principal.agency_type, file=file))
    return DecisionOut(referral_id=str(referral_id), status=status)


@router.post("/{referral_id}/filing", response_model=DecisionOut)
async def file_held_charge(
    referral_id: UUID, body: FilingIn, principal: AnyAgency, bus: Bus, engine: Engine, sites: SiteDirectory
) -> DecisionOut:
    """File after the intake window lapsed, attesting the case meets filing standards. Refused (409) for ever
    once intake closed it, whoever asks."""
    return await _decide(referral_id, principal, bus, engine, sites, file=True)


@router.post("/{referral_id}/non-filing", response_model=DecisionOut)
async def decline_held_charge(
    referral_id: UUID, principal: AnyAgency, bus: Bus, engine: Engine, sites: SiteDirectory
) -> DecisionOut:
    """Decide not to file a charge whose intake window lapsed (HeldChargeNotFiled)."""
    return await _decide(referral_id, principal, bus, engine, sites, file=False)


@router.post("/{referral_id}/abeyance", response_model=DecisionOut)
async def hold_in_abeyance(
    referral_id: UUID, principal: AnyAgency, bus: Bus, engine: Engine, sites: SiteDirectory
) -> DecisionOut:
    """Always refused (409) with the reason: a LEAD diverted charge is never held in abeyance."""
    _only_prosecutors(principal, NeverInAbeyance())
    await _held_by_caller(engine, sites, referral_id, principal)
    async with bus.uow() as uow:
        charge = await uow.get(HeldCharge, str(referral_id))
        assert charge is not None
        charge.hold_in_abeyance()
    raise AssertionError("unreachable: hold_in_abeyance always refuses")


@router.post("/{referral_id}/reopening", response_model=DecisionOut)
async def reopen(
    referral_id: UUID, principal: AnyAgency, bus: Bus, engine: Engine, sites: SiteDirectory
) -> DecisionOut:
    """Always refused (409) with the reason: closed by intake is final, and a decided charge stays decided."""
    _only_prosecutors(principal, NeverReopened())
    await _held_by_caller(engine, sites, referral_id, principal)
    async with bus.uow() as uow:
        charge = await uow.get(HeldCharge, str(referral_id))
        assert charge is not None
        charge.reopen()
    raise AssertionError("unreachable: reopen always refuses")
