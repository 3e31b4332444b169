"""Thin routes: validate, build a command, hand it to the bus; reads come from read models."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from divert_contracts.vocabulary import DEFAULT_PURPOSE, Purpose
from divert_kernel.auth import Principal, require
from divert_kernel.deps import Bus, Engine, Gate
from divert_kernel.errors import Forbidden
from referral.adapters import store
from referral.domain import commands
from referral.domain.errors import ReferralNotFound
from referral.entrypoints.schemas import (
    DeclineIn,
    HandoffIn,
    LifecycleOut,
    OfficerIn,
    OwgDecisionIn,
    PersonOut,
    ReferralCreated,
    ReferralIn,
    ReferralOut,
)

router = APIRouter(prefix="/v1/referrals", tags=["referrals"])

Police = Annotated[Principal, Depends(require("police"))]
Referrer = Annotated[Principal, Depends(require("police", "community"))]
HandoffRecorder = Annotated[Principal, Depends(require("police", "case_management"))]
ProjectManager = Annotated[Principal, Depends(require("project_manager"))]
AnyCaller = Annotated[Principal, Depends(require())]


@router.post("", status_code=201, response_model=ReferralCreated)
async def submit_referral(body: ReferralIn, principal: Referrer, bus: Bus) -> ReferralCreated:
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
        officer=commands.Officer(**body.officer.model_dump()),
        referring_agency_type=principal.agency_type,
        exclusions_present=tuple(body.exclusions_present),
        victim_wants_prosecution=body.victim_wants_prosecution,
    )
    if principal.agency_type == "community" and body.referral_type != "social_contact":
        raise Forbidden("community referrers make social-contact referrals only", field="referral_type")
    accepted = await bus.handle(command)
    return ReferralCreated(**accepted.__dict__)


@router.get("/{referral_id}", response_model=ReferralOut, response_model_exclude_none=True)
async def get_referral(
    referral_id: UUID,
    principal: AnyCaller,
    engine: Engine,
    gate: Gate,
    purpose: Annotated[Purpose | None, Query(description="why the caller reads; defaults by agency type")] = None,
) -> ReferralOut:
    """The referral: in full for the referring police agency, otherwise only what the consent gate permits."""
    async with engine.connect() as conn:
        row = await store.get_referral(conn, str(referral_id))
    if row is not None and row["referring_agency"] == principal.agency:
        return _referral_out(row, identity=True, owner=True)
    visible = row if row is not None and row["jurisdiction"] in principal.jurisdictions else None
    purpose = purpose or DEFAULT_PURPOSE[principal.agency_type]
    participant_id = visible["participant_id"] if visible else str(referral_id)
    jurisdiction = visible["jurisdiction"] if visible else None
    await gate.require_read(
        principal, participant_id=participant_id, jurisdiction=jurisdiction, category="referral", purpose=purpose
    )
    assert visible is not None  # require_read refuses an unknown referral
    ask = {"participant_id": participant_id, "jurisdiction": visible["jurisdiction"], "purpose": purpose}
    identity = await gate.permits(principal, category="identity", **ask)
    return _referral_out(visible, identity=identity, owner=False)


def _referral_out(row: dict[str, Any], *, identity: bool, owner: bool) -> ReferralOut:
    """Minimum necessary: parts the caller may not read are left out, not blanked."""
    fields = {k: row[k] for k in ReferralOut.model_fields if k in row}
    if identity:
        fields["person"] = PersonOut(**{k: row[k] for k in PersonOut.model_fields})
    if owner:
        fields["officer"] = OfficerIn(badge_number=row["officer_badge"], name=row["officer_name"])
        fields["rms_incident_number"] = row["rms_incident_number"]
        fields["location"] = row["location"]
    return ReferralOut(**fields)


async def _owned_referral(engine: Engine, referral_id: UUID, principal: Principal) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = await store.get_referral(conn, str(referral_id))
    if row is None or row["jurisdiction"] not in principal.jurisdictions:
        raise ReferralNotFound()
    return row


@router.post("/{referral_id}/acceptance", response_model=LifecycleOut)
async def accept(referral_id: UUID, principal: Police, bus: Bus, engine: Engine) -> LifecycleOut:
    """The person accepted the diversion offer (DiversionAccepted)."""
    await _owned_referral(engine, referral_id, principal)
    return LifecycleOut(
        referral_id=str(referral_id), status=await bus.handle(commands.AcceptDiversion(str(referral_id)))
    )


@router.post("/{referral_id}/decline", response_model=LifecycleOut)
async def decline(referral_id: UUID, body: DeclineIn, principal: Police, bus: Bus, engine: Engine) -> LifecycleOut:
    """The person declined (DiversionDeclined): the charge returns to ordinary processing, nothing more."""
    await _owned_referral(engine, referral_id, principal)
    status = await bus.handle(commands.DeclineDiversion(str(referral_id), body.reason))
    return LifecycleOut(referral_id=str(referral_id), status=status)


@router.post("/{referral_id}/handoff", response_model=LifecycleOut)
async def hand_off(
    referral_id: UUID, body: HandoffIn, principal: HandoffRecorder, bus: Bus, engine: Engine
) -> LifecycleOut:
    """The warm hand-off to a case manager happened (WarmHandoffCompleted); the place stays in this service."""
    await _owned_referral(engine, referral_id, principal)
    command = commands.CompleteHandoff(str(referral_id), body.case_manager_id, body.location, body.at)
    return LifecycleOut(referral_id=str(referral_id), status=await bus.handle(command))


@router.post("/{referral_id}/owg-decision", response_model=LifecycleOut)
async def owg_decision(
    referral_id: UUID, body: OwgDecisionIn, principal: ProjectManager, bus: Bus, engine: Engine
) -> LifecycleOut:
    """The Operations Work Group approved or denied a social-contact referral, with who and why."""
    await _owned_referral(engine, referral_id, principal)
    command = commands.DecideSocialContact(str(referral_id), body.decision == "approved", body.decided_by, body.reason)
    return LifecycleOut(referral_id=str(referral_id), status=await bus.handle(command))
