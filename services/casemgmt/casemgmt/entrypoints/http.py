"""Thin routes for participants' intake, withdrawal, status and intake extensions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from casemgmt.adapters.consent import roi_on_file
from casemgmt.domain.commands import ChangeStatus, CompleteIntake, ExtendIntakeDeadline, Withdraw
from casemgmt.domain.enrolment import ConsentToParticipate
from casemgmt.entrypoints import access
from casemgmt.entrypoints.care_schemas import Obligations
from divert_contracts.vocabulary import AgencyId, Purpose
from divert_kernel.deps import AnyAgency, Bus, CaseManager, Engine, Gate, ProjectManager

router = APIRouter(prefix="/v1/participants", tags=["participants"])


class ConsentToParticipateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signed_at: AwareDatetime = Field(description="when the participant signed the consent to take part")
    signed_document_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the signed document (lowercase hex); kept here only"
    )


class IntakeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "completed_at": "2026-11-24T16:30:00Z",
                    "consent_to_participate": {
                        "signed_at": "2026-11-24T16:00:00Z",
                        "signed_document_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    },
                }
            ]
        },
    )

    completed_at: AwareDatetime
    consent_to_participate: ConsentToParticipateIn = Field(
        description="the participant's written consent to take part (toolkit VII.C); a signed ROI naming the "
        "holding provider must also be on file with the consent service"
    )


class ConsentToParticipateOut(BaseModel):
    signed_at: datetime
    signed_document_sha256: str
    roi_consent_id: str | None


class IntakeOut(BaseModel):
    participant_id: str
    jurisdiction: str
    enrolment: Literal["referred", "enrolled", "not_enrolled"]
    intake_status: Literal["pending", "completed"]
    intake_deadline: date | None
    intake_completed_at: datetime | None
    consent_to_participate: ConsentToParticipateOut | None = Field(
        None, description="served to the holding provider only"
    )
    obligations: Obligations = []


class StatusIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"status": "inactive", "reason": "no_contact_90_days"}]}
    )

    status: str = Field(description="active, inactive, or exited (only with reason code_of_conduct)")
    reason: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$", description="a reason code")


class StatusOut(BaseModel):
    participant_id: str
    status: str


def _intake(row: dict[str, Any], holder: bool, obligations: list[dict[str, Any]] | None = None) -> IntakeOut:
    fields = {k: row[k] for k in IntakeOut.model_fields if k in row and k != "consent_to_participate"}
    consent = None
    if holder and row.get("consent_sha256"):
        consent = ConsentToParticipateOut(
            signed_at=row["consent_signed_at"],
            signed_document_sha256=row["consent_sha256"],
            roi_consent_id=row["roi_consent_id"],
        )
    return IntakeOut(**fields, consent_to_participate=consent, obligations=obligations or [])


@router.post("/{participant_id}/intake", response_model=IntakeOut)
async def complete_intake(
    participant_id: UUID, body: IntakeIn, request: Request, principal: CaseManager, bus: Bus, engine: Engine
) -> IntakeOut:
    """Enrol: the completed intake, with consent to take part and a signed ROI naming the holding provider on file
    (asked of the consent service now: 503 if it cannot answer, 409 with Retry-After if it has not yet seen the
    hand-off, 422 naming `roi` if none is on file). IntakeCompleted closes held charges."""
    row = await access.held(engine, participant_id, principal)
    consent_url = request.app.state.settings.consent_url
    roi = await roi_on_file(consent_url, principal, row["participant_id"], row["jurisdiction"])
    consent = ConsentToParticipate(**body.consent_to_participate.model_dump())
    by = principal.person or principal.agency
    await bus.handle(CompleteIntake(row["participant_id"], body.completed_at, consent, roi, by))
    return _intake(await access.held(engine, participant_id, principal), holder=True)


class WithdrawalOut(BaseModel):
    participant_id: str
    enrolment: Literal["not_enrolled"]
    not_enrolled_reason: Literal["withdrew"]


@router.post("/{participant_id}/withdrawal", response_model=WithdrawalOut)
async def withdraw(participant_id: UUID, principal: CaseManager, bus: Bus, engine: Engine) -> WithdrawalOut:
    """The person withdraws before intake (the holding provider records it): not enrolled, reason `withdrew`.
    A new offer or an extension makes them referred again; after intake, use status instead (409)."""
    row = await access.held(engine, participant_id, principal)
    await bus.handle(Withdraw(row["participant_id"]))
    return WithdrawalOut(participant_id=row["participant_id"], enrolment="not_enrolled", not_enrolled_reason="withdrew")


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
    return _intake(row, got.owner, access.obligations([("assessment", got)]))


class ExtensionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "intake_deadline": "2026-12-31",
                    "law_enforcement_agency": "seattle-pd",
                    "law_enforcement_agreed": True,
                    "reason": "In hospital; intake resumes on discharge.",
                }
            ]
        },
    )

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


@router.post("/{participant_id}/intake-extension", response_model=ExtensionOut)
async def extend_intake(
    participant_id: UUID, body: ExtensionIn, principal: ProjectManager, bus: Bus, engine: Engine
) -> ExtensionOut:
    """The Operations Work Group extends the intake window within the site's bounds (IntakeDeadlineExtended);
    a person whose window lapsed is referred again."""
    row = await access.reachable(engine, participant_id, principal)
    command = ExtendIntakeDeadline(
        row["participant_id"], body.intake_deadline, principal.agency, body.law_enforcement_agency, body.reason
    )
    await bus.handle(command)
    return ExtensionOut(participant_id=row["participant_id"], intake_deadline=body.intake_deadline)


@router.post("/{participant_id}/status", response_model=StatusOut)
async def change_status(
    participant_id: UUID, body: StatusIn, principal: CaseManager, bus: Bus, engine: Engine
) -> StatusOut:
    """Set an enrolled participant active or inactive (the holding provider only); `exited` only for a Code of
    Conduct violation. Before intake: 409 (`enrolment_required`)."""
    row = await access.held(engine, participant_id, principal)
    case = await bus.handle(ChangeStatus(row["participant_id"], body.status, body.reason))
    return StatusOut(participant_id=case.id, status=case.status)
