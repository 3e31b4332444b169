"""Thin routes: case-manager assignment and caseloads, the initial screening form, the plan, contacts.

The provider holding the participant's records reads everything and is the only one that writes; another
agency reads a part only with a consent-gate permit for that part's category, parts it may not read are left
out (not blanked), and the obligations of each part served travel with it.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request

from casemgmt.adapters import care
from casemgmt.domain import commands
from casemgmt.domain.errors import ParticipantNotFound
from casemgmt.entrypoints import access
from casemgmt.entrypoints.care_schemas import (
    MENTAL_HEALTH_AREAS,
    SUBSTANCE_AREAS,
    AssignIn,
    CaseloadsOut,
    ContactIn,
    ContactsOut,
    PlanIn,
    PlanOut,
    PurposeQuery,
    ScreeningForm,
    ScreeningOut,
)
from divert_contracts.vocabulary import Jurisdiction
from divert_kernel.access import may_read
from divert_kernel.deps import AnyAgency, Bus, CaseloadReader, CaseManager, Engine, Gate
from divert_kernel.gate import not_permitted

router = APIRouter(tags=["care"])
# Who carries whom, and who is active: the participant's engagement, like the participant list.
CASELOAD_CATEGORY = "assessment"


@router.post("/v1/participants/{participant_id}/case-manager", response_model=dict[str, str])
async def assign_case_manager(
    participant_id: UUID, body: AssignIn, principal: CaseManager, bus: Bus, engine: Engine
) -> dict[str, str]:
    """Assign one of the holding provider's case managers; refused (409) once they carry the site's cap."""
    row = await access.held(engine, participant_id, principal)
    await bus.handle(commands.AssignCaseManager(str(participant_id), body.case_manager_id, row["holder"]))
    return {"participant_id": str(participant_id), "case_manager_id": body.case_manager_id}


@router.get("/v1/caseloads", response_model=CaseloadsOut)
async def caseloads(
    request: Request,
    principal: CaseloadReader,
    engine: Engine,
    gate: Gate,
    jurisdiction: Annotated[Jurisdiction, Query()],
    purpose: PurposeQuery = None,
) -> CaseloadsOut:
    """Each case manager's caseload against the site's cap, over the participants the caller may see."""
    settings = request.app.state.settings
    rows = await access.served_rows(
        engine, gate, principal, jurisdiction=jurisdiction, category=CASELOAD_CATEGORY, purpose=purpose
    )
    active = Counter(r["case_manager_id"] for r in rows if r["case_manager_id"] and r["status"] == "active")
    total = Counter(r["case_manager_id"] for r in rows if r["case_manager_id"])
    loads = [
        {
            "case_manager_id": cm,
            "active": active[cm],
            "total": total[cm],
            "over_preferred": active[cm] > settings.caseload_preferred,
            "at_cap": active[cm] >= settings.caseload_cap,
        }
        for cm in sorted(total)
    ]
    unassigned = sum(1 for r in rows if r["case_manager_id"] is None and r["status"] == "active")
    return CaseloadsOut(
        cap=settings.caseload_cap, preferred=settings.caseload_preferred, unassigned=unassigned, case_managers=loads
    )


@router.put("/v1/participants/{participant_id}/initial-screening", response_model=ScreeningOut)
async def record_screening(
    participant_id: UUID, body: ScreeningForm, principal: CaseManager, bus: Bus, engine: Engine
) -> ScreeningOut:
    """Record the initial screening form (InitialScreeningCompleted says only that it was done)."""
    await access.held(engine, participant_id, principal)
    form = body.model_dump(mode="json")
    await bus.handle(
        commands.RecordScreening(str(participant_id), form, principal.person or principal.agency, body.screened_at)
    )
    return ScreeningOut(
        participant_id=str(participant_id),
        screened_by=principal.person or principal.agency,
        completed_at=body.screened_at,
        form=form,
        withheld=[],
    )


def _minimum_necessary(
    form: dict[str, Any], substance_use: bool, mental_health: bool
) -> tuple[dict[str, Any], list[str]]:
    form = dict(form)
    factors = dict(form.get("contributing_factors") or {})
    assistance = dict(form.get("assistance") or {})
    withheld = []
    if not substance_use:
        withheld.append("substance_use")
        factors.pop("alcohol", None), factors.pop("drugs", None), factors.pop("explain", None)
        form.pop("drug_court", None), form.pop("drug_court_explain", None)
        assistance = {k: v for k, v in assistance.items() if k not in SUBSTANCE_AREAS}
    if not mental_health:
        withheld.append("mental_health")
        factors.pop("mental_health", None), factors.pop("explain", None)
        assistance = {k: v for k, v in assistance.items() if k not in MENTAL_HEALTH_AREAS}
    form["contributing_factors"], form["assistance"] = factors, assistance
    return form, withheld


@router.get("/v1/participants/{participant_id}/initial-screening", response_model=ScreeningOut)
async def get_screening(
    participant_id: UUID, principal: AnyAgency, engine: Engine, gate: Gate, purpose: PurposeQuery = None
) -> ScreeningOut:
    """The screening form; other agencies get its substance-use and mental-health parts only with their own permits,
    each with its obligations (the §2.32 notice for substance use)."""
    got, row = await access.read(engine, gate, participant_id, principal, "screening", purpose)
    async with engine.connect() as conn:
        stored = await care.screening(conn, str(participant_id))
    if stored is None:
        raise ParticipantNotFound() if got.owner else not_permitted()
    form, withheld, reads = stored["form"], [], [("screening", got)]
    if not got.owner:
        ask = {"participant_id": str(participant_id), "purpose": access.purpose_of(principal, purpose)}
        owner = access.owner_of(row)
        assert owner is not None
        substance = await may_read(gate, principal, owner, category="substance_use", **ask)
        mental = await may_read(gate, principal, owner, category="mental_health", **ask)
        form, withheld = _minimum_necessary(form, substance is not None, mental is not None)
        reads += [("substance_use", substance), ("mental_health", mental)]
    return ScreeningOut(
        participant_id=str(participant_id),
        screened_by=stored["screened_by"],
        completed_at=stored["completed_at"],
        form=form,
        withheld=withheld,
        obligations=access.obligations(reads),
    )


@router.put("/v1/participants/{participant_id}/plan", response_model=PlanOut)
async def update_plan(participant_id: UUID, body: PlanIn, principal: CaseManager, bus: Bus, engine: Engine) -> PlanOut:
    """A new version of the Individual Intervention Plan; earlier versions are kept."""
    await access.held(engine, participant_id, principal)
    goals = [g.model_dump(mode="json") for g in body.goals]
    by = principal.person or principal.agency
    version = await bus.handle(commands.UpdatePlan(str(participant_id), goals, by))
    async with engine.connect() as conn:
        stored = await care.plan(conn, str(participant_id), version)
    assert stored is not None
    return PlanOut(participant_id=str(participant_id), **stored)


@router.get("/v1/participants/{participant_id}/plan", response_model=PlanOut)
async def get_plan(
    participant_id: UUID,
    principal: AnyAgency,
    engine: Engine,
    gate: Gate,
    purpose: PurposeQuery = None,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> PlanOut:
    """The current plan, or an earlier version; other agencies need a permit for `plan`."""
    got, _ = await access.read(engine, gate, participant_id, principal, "plan", purpose)
    async with engine.connect() as conn:
        stored = await care.plan(conn, str(participant_id), version)
    if stored is None:
        raise ParticipantNotFound() if got.owner else not_permitted()
    return PlanOut(participant_id=str(participant_id), **stored, obligations=access.obligations([("plan", got)]))


@router.post("/v1/participants/{participant_id}/contacts", status_code=201, response_model=dict[str, str])
async def log_contact(
    participant_id: UUID, body: ContactIn, principal: CaseManager, bus: Bus, engine: Engine
) -> dict[str, str]:
    """Log a contact (ContactLogged carries its kind and date; notes stay here)."""
    await access.held(engine, participant_id, principal)
    contact_id = await bus.handle(
        commands.LogContact(str(participant_id), body.kind, body.occurred_on, body.staff_id, body.notes)
    )
    return {"contact_id": contact_id}


@router.get("/v1/participants/{participant_id}/contacts", response_model=ContactsOut)
async def get_contacts(
    participant_id: UUID, principal: AnyAgency, engine: Engine, gate: Gate, purpose: PurposeQuery = None
) -> ContactsOut:
    """Contacts newest first with counts by kind; other agencies need a permit for `contacts`, and never see notes."""
    got, _ = await access.read(engine, gate, participant_id, principal, "contacts", purpose)
    async with engine.connect() as conn:
        rows = await care.contacts(conn, str(participant_id))
    if not got.owner:
        rows = [{k: v for k, v in r.items() if k != "notes"} for r in rows]
    return ContactsOut(
        participant_id=str(participant_id),
        counts=dict(Counter(r["kind"] for r in rows)),
        contacts=rows,
        obligations=access.obligations([("contacts", got)]),
    )
