"""Thin routes for participants' intake and status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from casemgmt.domain.commands import ChangeStatus, CompleteIntake, ExtendIntakeDeadline
from casemgmt.domain.model import ExtensionBounds
from casemgmt.entrypoints import access
from casemgmt.entrypoints.care_schemas import Obligations
from divert_contracts.vocabulary import AgencyId, Purpose
from divert_kernel.deps import AnyAgency, Bus, CaseManager, Engine, Gate, ProjectManager, SiteDirectory
from divert_kernel.sites import Site, Sites

router = APIRouter(prefix="/v1/participants", tags=["participants"])


class IntakeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"completed_at": "2026-11-24T16:30:00Z"}]}
    )

    completed_at: AwareDatetime


class IntakeOut(BaseModel):
    participant_id: str
    jurisdiction: str
    intake_status: Literal["pending", "completed"]
    intake_deadline: date | None
    intake_completed_at: datetime | None
    obligations: Obligations = []


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="active, inactive, or exited (only with reason code_of_conduct)")
    reason: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$", description="a reason code")


class StatusOut(BaseModel):
    participant_id: str
    status: str


def _intake(row: dict[str, Any], obligations: list[dict[str, Any]] | None = None) -> IntakeOut:
    return IntakeOut(**{k: row[k] for k in IntakeOut.model_fields if k in row}, obligations=obligations or [])


@router.post("/{participant_id}/intake", response_model=IntakeOut)
async def complete_intake(
    participant_id: UUID, body: IntakeIn, principal: CaseManager, bus: Bus, engine: Engine
) -> IntakeOut:
    """Record the completed biopsychosocial intake (the holding provider only); IntakeCompleted closes held charges."""
    await access.held(engine, participant_id, principal)
    await bus.handle(CompleteIntake(str(participant_id), body.completed_at))
    return _intake(await access.held(engine, participant_id, principal))


@router.get("/{participant_id}/intake", response_model=IntakeOut)
async def get_intake(
    participant_id: UUID,
    principal: AnyAgency,
    engine: Engine,
    gate: Gate,
    purpose: Annotated[Purpose | None, Query(description="why the caller reads; defaults by agency type")] = None,
) -> IntakeOut:
    """Intake status: served to the holding provider, and to others only with a consent-gate permit."""
    got, row = await access.read(engine, gate, participant_id, principal, "assessment", purpose)
    return _intake(row, access.obligations([("assessment", got)]))


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intake_deadline: date = Field(
        description="the new deadline: later than the current one, within the site's bounds per extension and in all"
    )
    law_enforcement_agency: AgencyId = Field(description="the police agency that agreed to the extension")
    law_enforcement_agreed: Literal[True] = Field(description="law enforcement's agreement is required")
    reason: str = Field(
        min_length=1,
        max_length=500,
        pattern=r"^[^\x00]*$",
        description="why the Operations Work Group extends; kept by case management, never published",
    )


class ExtensionOut(BaseModel):
    participant_id: str
    intake_deadline: date


# A site not in the directory gets the defaults of the site settings themselves.
DEFAULT_BOUNDS = ExtensionBounds(
    Site.model_fields["intake_extension_max_days"].default,
    Site.model_fields["intake_extensions_total_max_days"].default,
)


def _bounds(sites: Sites, jurisdiction: str) -> ExtensionBounds:
    site = sites.get(jurisdiction)
    if site is None:
        return DEFAULT_BOUNDS
    return ExtensionBounds(site.intake_extension_max_days, site.intake_extensions_total_max_days)


@router.post("/{participant_id}/intake-extension", response_model=ExtensionOut)
async def extend_intake(
    participant_id: UUID, body: ExtensionIn, principal: ProjectManager, bus: Bus, engine: Engine, sites: SiteDirectory
) -> ExtensionOut:
    """The Operations Work Group extends the intake window within the site's bounds (IntakeDeadlineExtended)."""
    row = await access.reachable(engine, participant_id, principal)
    command = ExtendIntakeDeadline(
        str(participant_id),
        body.intake_deadline,
        principal.agency,
        body.law_enforcement_agency,
        body.reason,
        _bounds(sites, row["jurisdiction"]),
    )
    await bus.handle(command)
    return ExtensionOut(participant_id=str(participant_id), intake_deadline=body.intake_deadline)


@router.post("/{participant_id}/status", response_model=StatusOut)
async def change_status(
    participant_id: UUID, body: StatusIn, principal: CaseManager, bus: Bus, engine: Engine
) -> StatusOut:
    """Set a participant active or inactive (the holding provider only); `exited` only for a Code of Conduct violation."""
    await access.held(engine, participant_id, principal)
    case = await bus.handle(ChangeStatus(str(participant_id), body.status, body.reason))
    return StatusOut(participant_id=case.id, status=case.status)
