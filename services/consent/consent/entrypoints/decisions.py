"""Thin routes: access decisions (the gate), the site's MOU (read only) and break-glass."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from consent.adapters import decisions
from consent.domain import commands, policy
from consent.domain.errors import InvalidConsent
from consent.domain.mou import Mou
from consent.entrypoints.schemas import (
    AccessRequestIn,
    BatchIn,
    BatchOut,
    BreakGlassIn,
    BreakGlassOut,
    DecisionOut,
    ScopeIn,
    ScopeOut,
    SiteGrantOut,
    SiteMouOut,
)
from consent.service_layer.deciding import Decided, Decider
from divert_contracts.vocabulary import Jurisdiction
from divert_kernel import idempotency, metrics
from divert_kernel.auth import Principal
from divert_kernel.deps import AnyAgency, Bus, CaseManager, CurrentClock, Engine
from divert_kernel.errors import Forbidden
from divert_kernel.sites import Sites

router = APIRouter(tags=["access decisions"])


def registered_type(sites: Sites | None, jurisdiction: str, agency: str) -> str:
    """An agency's type from the site's registry, never from what a caller says it is."""
    site = sites.get(jurisdiction) if sites is not None else None
    return next((a.agency_type for a in site.agencies if a.agency_id == agency), "unknown") if site else "unknown"


def decide_command(body: AccessRequestIn, principal: Principal, sites: Sites | None = None) -> commands.DecideAccess:
    principal.check_jurisdiction(body.jurisdiction)
    asking_for_itself = body.requester_agency == principal.agency
    if not asking_for_itself and principal.agency_type != "auditor":
        raise Forbidden("an agency may ask only about its own reads", field="requester_agency")
    # An auditor's what-if question is about a registered agency: its type decides (e.g. Part 2 never to a
    # prosecutor), so it comes from the registry; a type the body names is ignored.
    asked_type = (
        principal.agency_type if asking_for_itself else registered_type(sites, body.jurisdiction, body.requester_agency)
    )
    return commands.DecideAccess(
        participant_id=str(body.participant_id),
        jurisdiction=body.jurisdiction,
        requester_agency=body.requester_agency,
        requester_agency_type=asked_type,
        requester_client=principal.client_id,
        acting_person=principal.person,
        category=body.category,
        purpose=body.purpose,
        what_if=not asking_for_itself,
    )


@router.post("/v1/access-decisions", response_model=DecisionOut)
async def decide_access(body: AccessRequestIn, principal: AnyAgency, request: Request) -> DecisionOut:
    """Permit or deny one read, with its basis and obligations; every decision is recorded and audited."""
    [decided] = await _decide(request, (decide_command(body, principal, request.app.state.sites),))
    return DecisionOut(**decided.as_dict())


@router.post("/v1/access-decisions/batch", response_model=BatchOut)
async def decide_many(body: BatchIn, principal: AnyAgency, request: Request) -> BatchOut:
    """Decide up to 1000 reads in one transaction (list and export paths), in the order asked."""
    sites = request.app.state.sites
    decided = await _decide(request, tuple(decide_command(r, principal, sites) for r in body.requests))
    return BatchOut(decisions=[DecisionOut(**d.as_dict()) for d in decided])


async def _decide(request: Request, asked: tuple[commands.DecideAccess, ...]) -> list[Decided]:
    """Two round trips, autocommitted: one statement reads, one records every decision (events, outbox rows and
    the decision log in one transaction) before the answer. A keyed request (its answer commits with its effect)
    and the first decisions after a new MOU version (recorded first) take the command path instead.
    App state is read directly: FastAPI runs a plain-function dependency on a worker thread, a hop per request."""
    state = request.app.state
    decider: Decider = state.decider
    if idempotency.current() is not None or not decider.mous_recorded(asked):
        decided: list[Decided] = await state.bus.handle(commands.DecideMany(asked))
    else:
        async with state.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            decided = await decider.decide(conn, asked, lock=False)
        if state.relay is not None:
            state.relay.wake()
    metrics.count_decisions(d.verdict.decision for d in decided)
    return decided


@router.post("/v1/access-decisions/scope", response_model=ScopeOut)
async def decision_scope(
    body: ScopeIn, principal: AnyAgency, bus: Bus, engine: Engine, clock: CurrentClock
) -> ScopeOut:
    """Which participants the caller could read for a category and purpose: a prefilter for lists, not a permit."""
    principal.check_jurisdiction(body.jurisdiction)
    if body.requester_agency != principal.agency:
        raise Forbidden("an agency may ask only about its own reads", field="requester_agency")
    if policy.never_disclosed(body.category, principal.agency_type, body.purpose):
        return ScopeOut(everyone=False, participant_ids=[])
    mou = await bus.handle(commands.SiteMouInForce(body.jurisdiction))
    params = {
        "agency": principal.agency,
        "jurisdiction": body.jurisdiction,
        "category": body.category,
        "purpose": body.purpose,
        "now": clock.now(),
    }
    async with engine.connect() as conn:
        everyone, participant_ids = await decisions.scope(conn, params, mou)
    return ScopeOut(everyone=everyone, participant_ids=participant_ids)


@router.get("/v1/site-grants", response_model=SiteMouOut)
async def site_grants(principal: AnyAgency, bus: Bus, jurisdiction: Annotated[Jurisdiction, Query()]) -> SiteMouOut:
    """The site's data-sharing terms (its MOU) in force: the newest version recorded, with its approval reference.
    The MOU is part of the site's settings, approved by the Policy Coordinating Group; no API call changes it."""
    principal.check_jurisdiction(jurisdiction)
    mou: Mou | None = await bus.handle(commands.SiteMouInForce(jurisdiction))
    if mou is None:
        return SiteMouOut(jurisdiction=jurisdiction, version=None, approved_by=None, recorded_at=None, terms=[])
    return SiteMouOut(
        jurisdiction=jurisdiction,
        version=mou.version,
        approved_by=mou.approved_by,
        recorded_at=mou.recorded_at,
        terms=[SiteGrantOut(grant_id=mou.term_id(i), **t.as_dict()) for i, t in enumerate(mou.terms)],
    )


@router.post("/v1/break-glass", status_code=201, response_model=BreakGlassOut)
async def break_glass(body: BreakGlassIn, principal: CaseManager, bus: Bus, response: Response) -> BreakGlassOut:
    """Emergency access for at most an hour, by the provider holding the participant, with a written reason;
    never substance_use. Flagged in the audit log and the participant's accounting."""
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
    # A use of break-glass has no URL of its own: it is read in the audit service's list of uses.
    response.headers["Location"] = "/v1/audit/break-glass"
    return BreakGlassOut(**await bus.handle(command))
