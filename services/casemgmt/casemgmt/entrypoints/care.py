"""Thin routes: case-manager assignment and caseloads, the initial screening form, the plan, contacts.

The provider holding the participant's records reads everything and is the only one that writes; another
agency reads a part only with a consent-gate permit for that part's category, parts it may not read are left
out (not blanked), and the obligations of each part served travel with it.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from casemgmt.adapters import care
from casemgmt.domain import commands
from casemgmt.domain.errors import ParticipantNotFound
from casemgmt.entrypoints import access
from casemgmt.entrypoints.care_schemas import (
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
from casemgmt.entrypoints.screening_view import CATEGORIES, minimum_necessary
from divert_contracts.vocabulary import Jurisdiction
from divert_kernel.deps import AnyAgency, Bus, CaseloadReader, CaseManager, Engine, Gate
from divert_kernel.gate import not_permitted

router = APIRouter(tags=["care"])
# Who carries whom, and who is active: the participant's engagement, like the participant list.
CASELOAD_CATEGORY = "assessment"


@router.post("/v1/participants/{participant_id}/case-manager", response_model=dict[str, str])
async def assign_case_manager(
    participant_id: UUID, body: AssignIn, principal: CaseManager, bus: Bus, engine: Engine
) -> dict[str, str]:
    """Assign one of the holding provider's case managers; refused (409) once they carry the site's cap, and for
    a social contact until the OWG approved it (`owg_approval_required`)."""
    row = await access.held(engine, participant_id, principal)
    await bus.handle(commands.AssignCaseManager(row["participant_id"], body.case_manager_id, row["holder"]))
    return {"participant_id": row["participant_id"], "case_manager_id": body.case_manager_id}


@router.get("/v1/caseloads", response_model=CaseloadsOut)
async def caseloads(
    request: Request,
    principal: CaseloadReader,
    engine: Engine,
    gate: Gate,
    jurisdiction: Annotated[Jurisdiction, Query()],
    purpose: PurposeQuery = None,
) -> CaseloadsOut:
    """Each case manager's caseload against the site's cap (from the newest eligibility policy), over the
    participants the caller may see. A case manager carries enrolled participants who are active or inactive and
    referred people assigned to them; exited and not-enrolled people are not carried."""
    async with engine.connect() as conn:
        site = await request.app.state.site_settings.of(conn, jurisdiction)
    rows = await access.served_rows(
        engine, gate, principal, jurisdiction=jurisdiction, category=CASELOAD_CATEGORY, purpose=purpose
    )
    kind = {r["participant_id"]: _carried_as(r) for r in rows}
    counts = Counter((r["case_manager_id"], kind[r["participant_id"]]) for r in rows if r["case_manager_id"])
    loads = []
    for cm in sorted({r["case_manager_id"] for r in rows if r["case_manager_id"] and kind[r["participant_id"]]}):
        carried = sum(counts[(cm, k)] for k in ("active", "inactive", "referred"))
        loads.append(
            {
                "case_manager_id": cm,
                "active": counts[(cm, "active")],
                "inactive": counts[(cm, "inactive")],
                "referred": counts[(cm, "referred")],
                "total": carried,
                "over_preferred": carried > site.caseload_preferred,
                "at_cap": carried >= site.caseload_cap,
            }
        )
    unassigned = sum(1 for r in rows if r["case_manager_id"] is None and kind[r["participant_id"]])
    return CaseloadsOut(
        cap=site.caseload_cap, preferred=site.caseload_preferred, unassigned=unassigned, case_managers=loads
    )


def _carried_as(row: dict[str, Any]) -> str | None:
    """How a row counts in a caseload: active / inactive (enrolled), referred, or not at all."""
    if row["enrolment"] == "enrolled":
        return row["status"] if row["status"] in ("active", "inactive") else None
    return "referred" if row["enrolment"] == "referred" else None


@router.put("/v1/participants/{participant_id}/initial-screening", response_model=ScreeningOut)
async def record_screening(
    participant_id: UUID, body: ScreeningForm, principal: CaseManager, bus: Bus, engine: Engine
) -> ScreeningOut:
    """Record the initial screening form (InitialScreeningCompleted says only that it was done); for a social
    contact, refused until the OWG approved it (409 `owg_approval_required`)."""
    row = await access.held(engine, participant_id, principal)
    form = body.model_dump(mode="json")
    await bus.handle(
        commands.RecordScreening(row["participant_id"], form, principal.person or principal.agency, body.screened_at)
    )
    return ScreeningOut(
        participant_id=row["participant_id"],
        screened_by=principal.person or principal.agency,
        completed_at=body.screened_at,
        form=form,
        withheld=[],
    )


@router.get("/v1/participants/{participant_id}/initial-screening", response_model=ScreeningOut)
async def get_screening(
    participant_id: UUID, principal: AnyAgency, engine: Engine, gate: Gate, purpose: PurposeQuery = None
) -> ScreeningOut:
    """The screening form; another agency gets each field only with permits for every category it belongs to
    (identity, housing, benefits, legal_case, substance_use, mental_health; the rest is `screening`), decided in one
    batch; `withheld` lists the categories left out, and each part served carries its obligations."""
    got, row = await access.read(engine, gate, participant_id, principal, "screening", purpose)
    async with engine.connect() as conn:
        stored = await care.screening(conn, row["participant_id"])
    if stored is None:
        raise ParticipantNotFound() if got.owner else not_permitted()
    form, withheld, reads = stored["form"], [], [("screening", got)]
    if not got.owner:
        parts = await access.parts(gate, principal, row, CATEGORIES, purpose)
        form, withheld = minimum_necessary(form, set(parts))
        reads += list(parts.items())
    return ScreeningOut(
        participant_id=row["participant_id"],
        screened_by=stored["screened_by"],
        completed_at=stored["completed_at"],
        form=form,
        withheld=withheld,
        obligations=access.obligations(reads),
    )


@router.put("/v1/participants/{participant_id}/plan", response_model=PlanOut)
async def update_plan(participant_id: UUID, body: PlanIn, principal: CaseManager, bus: Bus, engine: Engine) -> PlanOut:
    """A new version of the Individual Intervention Plan; earlier versions are kept."""
    row = await access.held(engine, participant_id, principal)
    goals = [g.model_dump(mode="json") for g in body.goals]
    by = principal.person or principal.agency
    version = await bus.handle(commands.UpdatePlan(row["participant_id"], goals, by))
    async with engine.connect() as conn:
        stored = await care.plan(conn, row["participant_id"], version)
    assert stored is not None
    return PlanOut(participant_id=row["participant_id"], **stored)


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
    got, row = await access.read(engine, gate, participant_id, principal, "plan", purpose)
    async with engine.connect() as conn:
        stored = await care.plan(conn, row["participant_id"], version)
    if stored is None:
        raise ParticipantNotFound() if got.owner else not_permitted()
    return PlanOut(participant_id=row["participant_id"], **stored, obligations=access.obligations([("plan", got)]))


@router.post("/v1/participants/{participant_id}/contacts", status_code=201, response_model=dict[str, str])
async def log_contact(
    participant_id: UUID, body: ContactIn, principal: CaseManager, bus: Bus, engine: Engine, response: Response
) -> dict[str, str]:
    """Log a contact (ContactLogged carries its kind and date; notes stay here)."""
    row = await access.held(engine, participant_id, principal)
    contact_id = await bus.handle(
        commands.LogContact(row["participant_id"], body.kind, body.occurred_on, body.staff_id, body.notes)
    )
    response.headers["Location"] = f"/v1/participants/{participant_id}/contacts"  # contacts are read as a list
    return {"contact_id": contact_id}


@router.get("/v1/participants/{participant_id}/contacts", response_model=ContactsOut)
async def get_contacts(
    participant_id: UUID, principal: AnyAgency, engine: Engine, gate: Gate, purpose: PurposeQuery = None
) -> ContactsOut:
    """Contacts newest first with counts by kind; other agencies need a permit for `contacts`, and never see notes."""
    got, row = await access.read(engine, gate, participant_id, principal, "contacts", purpose)
    async with engine.connect() as conn:
        rows = await care.contacts(conn, row["participant_id"])
    if not got.owner:
        rows = [{k: v for k, v in r.items() if k != "notes"} for r in rows]
    return ContactsOut(
        participant_id=row["participant_id"],
        counts=dict(Counter(r["kind"] for r in rows)),
        contacts=rows,
        obligations=access.obligations([("contacts", got)]),
    )
