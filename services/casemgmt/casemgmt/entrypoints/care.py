"""Thin routes: case-manager assignment and caseloads, the initial screening form, the plan, contacts.

The case-management agency reads everything of its own; another agency reads a part only with a consent-gate
permit for that part's category, and parts it may not read are left out, not blanked.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from casemgmt.adapters import care
from casemgmt.domain import commands
from casemgmt.domain.errors import ParticipantNotFound
from casemgmt.entrypoints import access
from divert_contracts.vocabulary import DEFAULT_PURPOSE, Ethnicity, Gender, Jurisdiction, OffenseCode, Purpose, Race
from divert_kernel.auth import Principal, require
from divert_kernel.deps import Bus, Engine, Gate
from divert_kernel.gate import not_permitted

router = APIRouter(tags=["care"])

CaseManager = Annotated[Principal, Depends(require("case_management"))]
CaseloadReader = Annotated[Principal, Depends(require("case_management", "project_manager"))]
AnyAgency = Annotated[Principal, Depends(require())]
PurposeQuery = Annotated[Purpose | None, Query(description="why the caller reads; defaults by agency type")]
Note = Annotated[str, Field(min_length=1, max_length=2000)]
Short = Annotated[str, Field(min_length=1, max_length=200)]
StaffId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:@-]{1,64}$")]
AREAS = (
    "help_obtaining_id",
    "emergency_housing",
    "health_care",
    "food_clothing",
    "education_job_training",
    "employment_assistance",
    "legal_assistance",
    "mental_health_counselling",
    "public_benefits",
    "substance_abuse_treatment",
    "narcan_syringe_exchange",
    "transportation_assistance",
    "other",
)
SUBSTANCE_AREAS, MENTAL_HEALTH_AREAS = (
    {"substance_abuse_treatment", "narcan_syringe_exchange"},
    {"mental_health_counselling"},
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Assistance(_Strict):
    needs: bool = False
    has: bool = False
    notes: Note | None = None


class ContributingFactors(_Strict):
    alcohol: bool
    drugs: bool
    mental_health: bool
    explain: Note | None = None


class ScreeningForm(_Strict):
    """The toolkit's client initial screening form. The Social Security number is deliberately not collected."""

    screened_at: AwareDatetime
    location: Short
    screening_case_manager: StaffId
    arresting_officer: StaffId | None = None
    lead_intake_officer: StaffId | None = None
    diverted_charges: list[OffenseCode] = Field(default_factory=list, max_length=20)
    contributing_factors: ContributingFactors
    nicknames: list[Short] = Field(default_factory=list, max_length=10)
    gender: Gender
    race: Race
    ethnicity: Ethnicity
    veteran: bool
    veteran_explain: Note | None = None
    address: Short | None = None
    phone: Annotated[str, Field(pattern=r"^[0-9+() .-]{3,32}$")] | None = None
    homeless: bool
    slept_last_night: Short | None = None
    where_to_find: Short | None = Field(None, description="where LEAD staff can contact or locate the person")
    employed: bool
    employer: Short | None = None
    public_assistance: list[Literal["medicaid", "medicare", "ssi", "ssd", "other"]] = Field(default_factory=list)
    drug_court: bool
    drug_court_explain: Note | None = None
    probation: bool
    probation_explain: Note | None = None
    probation_officer: Short | None = None
    will_sign_roi: bool
    assistance: dict[Literal[AREAS], Assistance] = Field(default_factory=dict)  # type: ignore[valid-type]
    immediate_actions: Note | None = None


class ScreeningOut(BaseModel):
    participant_id: str
    screened_by: str
    completed_at: datetime
    form: dict[str, Any]
    withheld: list[str] = Field(description="categories left out for this reader (no permit)")


class AssignIn(_Strict):
    case_manager_id: StaffId


class CaseloadsOut(BaseModel):
    cap: int
    preferred: int
    unassigned: int
    case_managers: list[dict[str, Any]]


class ProgressNote(_Strict):
    on: date
    note: Note


class Goal(_Strict):
    goal: Note = Field(description="in the participant's own words")
    action_steps: list[Note] = Field(default_factory=list, max_length=30)
    progress: list[ProgressNote] = Field(default_factory=list, max_length=200)


class PlanIn(_Strict):
    goals: list[Goal] = Field(min_length=1, max_length=30)


class PlanOut(BaseModel):
    participant_id: str
    plan_version: int
    goals: list[dict[str, Any]]
    updated_by: str
    updated_at: datetime


class ContactIn(_Strict):
    occurred_on: date
    kind: Literal["street", "office", "phone", "accompanied_appointment", "court"]
    staff_id: StaffId
    notes: Note | None = None


class ContactsOut(BaseModel):
    participant_id: str
    counts: dict[str, int]
    contacts: list[dict[str, Any]]


@router.post("/v1/participants/{participant_id}/case-manager", response_model=dict[str, str])
async def assign_case_manager(
    participant_id: UUID, body: AssignIn, principal: CaseManager, bus: Bus, engine: Engine
) -> dict[str, str]:
    """Assign a case manager; refused (409) once they carry the site's cap of active participants."""
    await access.owned(engine, participant_id, principal)
    await bus.handle(commands.AssignCaseManager(str(participant_id), body.case_manager_id))
    return {"participant_id": str(participant_id), "case_manager_id": body.case_manager_id}


@router.get("/v1/caseloads", response_model=CaseloadsOut)
async def caseloads(
    request: Request, principal: CaseloadReader, engine: Engine, jurisdiction: Annotated[Jurisdiction, Query()]
) -> CaseloadsOut:
    """Each case manager's active caseload against the site's cap and preferred number, and who is unassigned."""
    principal.check_jurisdiction(jurisdiction)
    settings = request.app.state.settings
    async with engine.connect() as conn:
        rows, unassigned = await care.caseloads(conn, jurisdiction)
    for row in rows:
        row |= {
            "over_preferred": row["active"] > settings.caseload_preferred,
            "at_cap": row["active"] >= settings.caseload_cap,
        }
    return CaseloadsOut(
        cap=settings.caseload_cap, preferred=settings.caseload_preferred, unassigned=unassigned, case_managers=rows
    )


@router.put("/v1/participants/{participant_id}/initial-screening", response_model=ScreeningOut)
async def record_screening(
    participant_id: UUID, body: ScreeningForm, principal: CaseManager, bus: Bus, engine: Engine
) -> ScreeningOut:
    """Record the initial screening form (InitialScreeningCompleted says only that it was done)."""
    await access.owned(engine, participant_id, principal)
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
    """The screening form; other agencies get its substance-use and mental-health parts only with their own permits."""
    owner, row = await access.readable(engine, gate, participant_id, principal, "screening", purpose)
    async with engine.connect() as conn:
        stored = await care.screening(conn, str(participant_id))
    if stored is None:
        raise ParticipantNotFound() if owner else not_permitted()
    form, withheld = stored["form"], []
    if not owner:
        ask = {
            "participant_id": str(participant_id),
            "jurisdiction": row["jurisdiction"],
            "purpose": purpose or DEFAULT_PURPOSE[principal.agency_type],
        }
        form, withheld = _minimum_necessary(
            form,
            await gate.permits(principal, category="substance_use", **ask),
            await gate.permits(principal, category="mental_health", **ask),
        )
    return ScreeningOut(
        participant_id=str(participant_id),
        screened_by=stored["screened_by"],
        completed_at=stored["completed_at"],
        form=form,
        withheld=withheld,
    )


@router.put("/v1/participants/{participant_id}/plan", response_model=PlanOut)
async def update_plan(participant_id: UUID, body: PlanIn, principal: CaseManager, bus: Bus, engine: Engine) -> PlanOut:
    """A new version of the Individual Intervention Plan; earlier versions are kept."""
    await access.owned(engine, participant_id, principal)
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
    owner, _ = await access.readable(engine, gate, participant_id, principal, "plan", purpose)
    async with engine.connect() as conn:
        stored = await care.plan(conn, str(participant_id), version)
    if stored is None:
        raise ParticipantNotFound() if owner else not_permitted()
    return PlanOut(participant_id=str(participant_id), **stored)


@router.post("/v1/participants/{participant_id}/contacts", status_code=201, response_model=dict[str, str])
async def log_contact(
    participant_id: UUID, body: ContactIn, principal: CaseManager, bus: Bus, engine: Engine
) -> dict[str, str]:
    """Log a contact (ContactLogged carries its kind and date; notes stay here)."""
    await access.owned(engine, participant_id, principal)
    contact_id = await bus.handle(
        commands.LogContact(str(participant_id), body.kind, body.occurred_on, body.staff_id, body.notes)
    )
    return {"contact_id": contact_id}


@router.get("/v1/participants/{participant_id}/contacts", response_model=ContactsOut)
async def get_contacts(
    participant_id: UUID, principal: AnyAgency, engine: Engine, gate: Gate, purpose: PurposeQuery = None
) -> ContactsOut:
    """Contacts newest first with counts by kind; other agencies need a permit for `contacts`, and never see notes."""
    owner, _ = await access.readable(engine, gate, participant_id, principal, "contacts", purpose)
    async with engine.connect() as conn:
        rows = await care.contacts(conn, str(participant_id))
    if not owner:
        rows = [{k: v for k, v in r.items() if k != "notes"} for r in rows]
    return ContactsOut(participant_id=str(participant_id), counts=dict(Counter(r["kind"] for r in rows)), contacts=rows)
