"""Thin routes: validate, build a command, hand it to the bus; reads come from read models."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from divert_contracts.vocabulary import DEFAULT_PURPOSE, Purpose
from divert_kernel import access
from divert_kernel.access import Owner
from divert_kernel.auth import Principal
from divert_kernel.deps import (
    AnyAgency,
    Bus,
    Engine,
    Gate,
    Police,
    ProjectManager,
    Referrer,
    SiteDirectory,
)
from divert_kernel.errors import Forbidden
from divert_kernel.sites import Sites
from referral.adapters import store
from referral.domain import commands
from referral.domain.disclosure import BASE, PARTS
from referral.domain.errors import ReferralNotFound
from referral.domain.model import receiving_provider
from referral.entrypoints.schemas import (
    DeclineIn,
    HandoffIn,
    LifecycleOut,
    OfficerOut,
    OwgDecisionIn,
    PersonOut,
    ReferralCreated,
    ReferralIn,
    ReferralOut,
)

router = APIRouter(prefix="/v1/referrals", tags=["referrals"])


@router.post("", status_code=201, response_model=ReferralCreated)
async def submit_referral(body: ReferralIn, principal: Referrer, bus: Bus, response: Response) -> ReferralCreated:
    """Record an arrest diversion offer or a social-contact referral; publishes DiversionOffered or
    SocialContactReferralSubmitted."""
    principal.check_jurisdiction(body.jurisdiction)
    command = commands.SubmitReferral(
        jurisdiction=body.jurisdiction,
        referral_type=body.referral_type,
        referring_agency=principal.agency,
        person=commands.Person(**body.person.model_dump()),
        incident=commands.Incident(
            **{**body.incident.model_dump(), "offense_codes": tuple(body.incident.offense_codes)}
        ),
        officer=commands.Officer(**body.officer.model_dump()) if body.officer else commands.Officer(None, None),
        referring_agency_type=principal.agency_type,
        exclusions_present=tuple(body.exclusions_present),
        victim_wants_prosecution=body.victim_wants_prosecution,
    )
    if principal.agency_type == "community" and body.referral_type != "social_contact":
        raise Forbidden("community referrers make social-contact referrals only", field="referral_type")
    accepted = await bus.handle(command)
    response.headers["Location"] = f"/v1/referrals/{accepted.referral_id}"
    return ReferralCreated(**accepted.__dict__)


@router.get("/{referral_id}", response_model=ReferralOut, response_model_exclude_none=True)
async def get_referral(
    referral_id: UUID,
    principal: AnyAgency,
    engine: Engine,
    gate: Gate,
    purpose: Annotated[Purpose | None, Query(description="why the caller reads; defaults by agency type")] = None,
) -> ReferralOut:
    """The referral: in full for the referring agency, otherwise only the parts the consent gate permits."""
    async with engine.connect() as conn:
        row = await store.get_referral(conn, str(referral_id))
    owner = _owner(row)
    # Out of the caller's reach, the participant is not named to the gate: it reads exactly like an unknown id.
    participant_id = row["participant_id"] if row and access.in_reach(principal, owner) else str(referral_id)
    ask = {"participant_id": participant_id, "purpose": purpose or DEFAULT_PURPOSE[principal.agency_type]}
    read = await access.read_one(gate, principal, owner, category=BASE, **ask)
    assert row is not None and owner is not None  # read_one refuses an unknown referral
    shown = {BASE}
    if not read.owner:
        for category in dict.fromkeys(PARTS.values()):
            if await access.may_read(gate, principal, owner, category=category, **ask):
                shown.add(category)
    return _referral_out(row, {part for part, category in PARTS.items() if read.owner or category in shown})


def _owner(row: dict[str, Any] | None) -> Owner | None:
    """A referral is held by the agency that made it (police, or the community referrer) in its jurisdiction."""
    return Owner(row["jurisdiction"], row["referring_agency"]) if row else None


def _referral_out(row: dict[str, Any], parts: set[str]) -> ReferralOut:
    """Minimum necessary: parts the caller may not read are left out, not blanked."""
    fields = {k: row[k] for k in ReferralOut.model_fields if k in row and k not in PARTS}
    if "person" in parts:
        fields["person"] = PersonOut(**{k: row[k] for k in PersonOut.model_fields})
    if "officer" in parts:
        fields["officer"] = OfficerOut(badge_number=row["officer_badge"], name=row["officer_name"])
    for part in parts & {"location", "rms_incident_number"}:
        fields[part] = row[part]
    return ReferralOut(**fields)


async def _referral(engine: Engine, referral_id: UUID, principal: Principal, *, owner_only: bool) -> dict[str, Any]:
    """The referral a write acts on; anyone it is not for gets exactly what an unknown id gets."""
    async with engine.connect() as conn:
        row = await store.get_referral(conn, str(referral_id))
    allowed = access.owns if owner_only else access.in_reach
    if not allowed(principal, _owner(row)):
        raise ReferralNotFound()
    assert row is not None
    return row


@router.post("/{referral_id}/acceptance", response_model=LifecycleOut)
async def accept(referral_id: UUID, principal: Police, bus: Bus, engine: Engine) -> LifecycleOut:
    """The person accepted the diversion offer (DiversionAccepted); recorded by the referring agency only."""
    await _referral(engine, referral_id, principal, owner_only=True)
    return LifecycleOut(
        referral_id=str(referral_id), status=await bus.handle(commands.AcceptDiversion(str(referral_id)))
    )


@router.post("/{referral_id}/decline", response_model=LifecycleOut)
async def decline(referral_id: UUID, body: DeclineIn, principal: Police, bus: Bus, engine: Engine) -> LifecycleOut:
    """The person declined (DiversionDeclined): the charge returns to ordinary processing, nothing more."""
    await _referral(engine, referral_id, principal, owner_only=True)
    status = await bus.handle(commands.DeclineDiversion(str(referral_id), body.reason))
    return LifecycleOut(referral_id=str(referral_id), status=status)


@router.post("/{referral_id}/handoff", response_model=LifecycleOut)
async def hand_off(
    referral_id: UUID, body: HandoffIn, principal: Referrer, bus: Bus, engine: Engine, sites: SiteDirectory
) -> LifecycleOut:
    """The warm hand-off to a named provider's case manager happened (WarmHandoffCompleted); recorded by the
    referring agency only (the hand-off decides who holds the person's records). The place stays here."""
    row = await _referral(engine, referral_id, principal, owner_only=True)
    provider = _receiving_provider(body.case_management_agency, sites, row["jurisdiction"])
    command = commands.CompleteHandoff(str(referral_id), body.case_manager_id, body.location, body.at, provider)
    return LifecycleOut(referral_id=str(referral_id), status=await bus.handle(command))


def _receiving_provider(named: str | None, sites: Sites, jurisdiction: str) -> str:
    site = sites.get(jurisdiction)
    return receiving_provider(named, site.of_type("case_management") if site else None)


@router.post("/{referral_id}/owg-decision", response_model=LifecycleOut)
async def owg_decision(
    referral_id: UUID, body: OwgDecisionIn, principal: ProjectManager, bus: Bus, engine: Engine
) -> LifecycleOut:
    """The Operations Work Group approved or denied a social-contact referral, with who and why."""
    await _referral(engine, referral_id, principal, owner_only=False)
    command = commands.DecideSocialContact(
        str(referral_id), body.decision == "approved", body.decided_by, body.reason, body.referred_to
    )
    return LifecycleOut(referral_id=str(referral_id), status=await bus.handle(command))
