"""Thin routes: access decisions (the gate), site grants (the MOU) and break-glass."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from consent.adapters import decisions
from consent.domain import commands, policy
from consent.domain.errors import InvalidConsent, SiteGrantNotFound
from consent.entrypoints.schemas import (
    AccessRequestIn,
    BatchIn,
    BatchOut,
    BreakGlassIn,
    BreakGlassOut,
    DecisionOut,
    ScopeIn,
    ScopeOut,
    SiteGrantIn,
    SiteGrantOut,
)
from divert_contracts.vocabulary import Jurisdiction
from divert_kernel.auth import Principal, require
from divert_kernel.deps import Bus, CurrentClock, Engine
from divert_kernel.errors import Forbidden

router = APIRouter(tags=["access decisions"])

AnyAgency = Annotated[Principal, Depends(require())]
ProjectManager = Annotated[Principal, Depends(require("project_manager"))]
GrantReader = Annotated[Principal, Depends(require("project_manager", "auditor", "case_management"))]
Responder = Annotated[
    Principal, Depends(require("case_management", "police", "prosecutor", "defender", "project_manager"))
]


def decide_command(body: AccessRequestIn, principal: Principal) -> commands.DecideAccess:
    principal.check_jurisdiction(body.jurisdiction)
    asking_for_itself = body.requester_agency == principal.agency
    if not asking_for_itself and principal.agency_type != "auditor":
        raise Forbidden("an agency may ask only about its own reads", field="requester_agency")
    return commands.DecideAccess(
        participant_id=str(body.participant_id),
        jurisdiction=body.jurisdiction,
        requester_agency=body.requester_agency,
        requester_agency_type=principal.agency_type if asking_for_itself else (body.requester_agency_type or "unknown"),
        requester_client=principal.client_id,
        acting_person=principal.person,
        category=body.category,
        purpose=body.purpose,
        what_if=not asking_for_itself,
    )


@router.post("/v1/access-decisions", response_model=DecisionOut)
async def decide_access(body: AccessRequestIn, principal: AnyAgency, bus: Bus) -> DecisionOut:
    """Permit or deny one read, with its basis and obligations; every decision is recorded and audited."""
    [decided] = await bus.handle(commands.DecideMany((decide_command(body, principal),)))
    return DecisionOut(**decided.as_dict())


@router.post("/v1/access-decisions/batch", response_model=BatchOut)
async def decide_many(body: BatchIn, principal: AnyAgency, bus: Bus) -> BatchOut:
    """Decide up to 1000 reads in one transaction (list and export paths), in the order asked."""
    requests = tuple(decide_command(r, principal) for r in body.requests)
    return BatchOut(decisions=[DecisionOut(**d.as_dict()) for d in await bus.handle(commands.DecideMany(requests))])


@router.post("/v1/access-decisions/scope", response_model=ScopeOut)
async def decision_scope(body: ScopeIn, principal: AnyAgency, engine: Engine, clock: CurrentClock) -> ScopeOut:
    """Which participants the caller could read for a category and purpose: a prefilter for lists, not a permit."""
    principal.check_jurisdiction(body.jurisdiction)
    if body.requester_agency != principal.agency:
        raise Forbidden("an agency may ask only about its own reads", field="requester_agency")
    if policy.never_disclosed(body.category, principal.agency_type, body.purpose):
        return ScopeOut(everyone=False, participant_ids=[])
    params = {
        "agency": principal.agency,
        "agency_type": principal.agency_type,
        "jurisdiction": body.jurisdiction,
        "category": body.category,
        "purpose": body.purpose,
        "now": clock.now(),
    }
    async with engine.connect() as conn:
        everyone, participant_ids = await decisions.scope(conn, params)
    return ScopeOut(everyone=everyone, participant_ids=participant_ids)


@router.post("/v1/site-grants", status_code=201, response_model=SiteGrantOut)
async def issue_site_grant(body: SiteGrantIn, principal: ProjectManager, bus: Bus, engine: Engine) -> SiteGrantOut:
    """Add a data-sharing term of the site's MOU, e.g. the referral packet to case management for the hand-off."""
    principal.check_jurisdiction(body.jurisdiction)
    command = commands.IssueSiteGrant(
        jurisdiction=body.jurisdiction,
        issued_by=principal.agency,
        recipient_agency_type=body.recipient_agency_type,
        recipient_agency=body.recipient_agency,
        categories=tuple(body.categories),
        purposes=tuple(body.purposes),
    )
    grant_id = await bus.handle(command)
    async with engine.connect() as conn:
        grants = await decisions.site_grants(conn, body.jurisdiction)
    return SiteGrantOut(**next(g for g in grants if g["grant_id"] == grant_id))


@router.get("/v1/site-grants", response_model=list[SiteGrantOut])
async def list_site_grants(
    principal: GrantReader, engine: Engine, jurisdiction: Annotated[Jurisdiction, Query()]
) -> list[SiteGrantOut]:
    """The site's data-sharing terms, withdrawn ones included (with when)."""
    principal.check_jurisdiction(jurisdiction)
    async with engine.connect() as conn:
        return [SiteGrantOut(**g) for g in await decisions.site_grants(conn, jurisdiction)]


@router.post("/v1/site-grants/{grant_id}/withdrawal", status_code=204)
async def withdraw_site_grant(grant_id: UUID, principal: ProjectManager, bus: Bus, engine: Engine) -> None:
    """Withdraw a site grant: reads starting afterwards no longer rely on it."""
    async with engine.connect() as conn:
        jurisdiction = await decisions.site_grant_jurisdiction(conn, str(grant_id))
    if jurisdiction is None or jurisdiction not in principal.jurisdictions:
        raise SiteGrantNotFound()
    await bus.handle(commands.WithdrawSiteGrant(str(grant_id)))


@router.post("/v1/break-glass", status_code=201, response_model=BreakGlassOut)
async def break_glass(body: BreakGlassIn, principal: Responder, bus: Bus) -> BreakGlassOut:
    """Emergency access for at most an hour, with a written reason; flagged in the audit log and the accounting."""
    principal.check_jurisdiction(body.jurisdiction)
    if principal.person is None:
        raise InvalidConsent("break-glass names the person acting (Divert-Acting-Person)", field="Divert-Acting-Person")
    command = commands.BreakGlass(
        participant_id=str(body.participant_id),
        jurisdiction=body.jurisdiction,
        requester_agency=principal.agency,
        requester_agency_type=principal.agency_type,
        acting_person=principal.person,
        categories=tuple(body.categories),
        reason=body.reason,
        minutes=body.minutes,
    )
    return BreakGlassOut(**await bus.handle(command))
