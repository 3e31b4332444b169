"""Thin routes for participants' intake and status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from casemgmt.domain.commands import ChangeStatus, CompleteIntake, ExtendIntakeDeadline
from casemgmt.entrypoints import access
from divert_contracts.vocabulary import AgencyId, Purpose
from divert_kernel.auth import Principal, require
from divert_kernel.deps import Bus, Engine, Gate

router = APIRouter(prefix="/v1/participants", tags=["participants"])

CaseManager = Annotated[Principal, Depends(require("case_management"))]
ProjectManager = Annotated[Principal, Depends(require("project_manager"))]
AnyAgency = Annotated[Principal, Depends(require())]


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


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="active, inactive, or exited (only with reason code_of_conduct)")
    reason: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$", description="a reason code")


class StatusOut(BaseModel):
    participant_id: str
    status: str


@router.post("/{participant_id}/intake", response_model=IntakeOut)
async def complete_intake(
    participant_id: UUID, body: IntakeIn, principal: CaseManager, bus: Bus, engine: Engine
) -> IntakeOut:
    """Record the completed biopsychosocial intake; publishes IntakeCompleted, which closes held charges."""
    await access.owned(engine, participant_id, principal)
    await bus.handle(CompleteIntake(str(participant_id), body.completed_at))
    return IntakeOut(**await access.owned(engine, participant_id, principal))


@router.get("/{participant_id}/intake", response_model=IntakeOut)
async def get_intake(
    participant_id: UUID,
    principal: AnyAgency,
    engine: Engine,
    gate: Gate,
    purpose: Annotated[Purpose | None, Query(description="why the caller reads; defaults by agency type")] = None,
) -> IntakeOut:
    """Intake status: served to the case-management agency, and to others only with a consent-gate permit."""
    _, row = await access.readable(engine, gate, participant_id, principal, "assessment", purpose)
    return IntakeOut(**row)


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intake_deadline: date = Field(description="the new deadline, later than the current one")
    law_enforcement_agency: AgencyId = Field(description="the police agency that agreed to the extension")
    law_enforcement_agreed: Literal[True] = Field(description="law enforcement's agreement is required")


@router.post("/{participant_id}/intake-extension", response_model=IntakeOut)
async def extend_intake(
    participant_id: UUID, body: ExtensionIn, principal: ProjectManager, bus: Bus, engine: Engine
) -> IntakeOut:
    """The Operations Work Group extends the intake window (IntakeDeadlineExtended moves the held charge's deadline)."""
    await access.owned(engine, participant_id, principal)
    await bus.handle(
        ExtendIntakeDeadline(str(participant_id), body.intake_deadline, principal.agency, body.law_enforcement_agency)
    )
    return IntakeOut(**await access.owned(engine, participant_id, principal))


@router.post("/{participant_id}/status", response_model=StatusOut)
async def change_status(
    participant_id: UUID, body: StatusIn, principal: CaseManager, bus: Bus, engine: Engine
) -> StatusOut:
    """Set a participant active or inactive; `exited` only for a Code of Conduct violation."""
    await access.owned(engine, participant_id, principal)
    case = await bus.handle(ChangeStatus(str(participant_id), body.status, body.reason))
    return StatusOut(participant_id=case.id, status=case.status)
