"""Instructions the case-management service accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from casemgmt.domain.enrolment import ConsentToParticipate, RoiOnFile


@dataclass(frozen=True)
class CompleteIntake:
    participant_id: str
    completed_at: datetime
    consent_to_participate: ConsentToParticipate | None
    # The consent service's answer, asked at the moment of intake with the caller's token.
    roi: RoiOnFile
    recorded_by: str


@dataclass(frozen=True)
class Withdraw:
    """The person withdraws before intake."""

    participant_id: str


@dataclass(frozen=True)
class ChangeStatus:
    participant_id: str
    status: str
    reason: str


@dataclass(frozen=True)
class ExtendIntakeDeadline:
    """An Operations Work Group extension, agreed by law enforcement."""

    participant_id: str
    intake_deadline: date
    granted_by: str
    law_enforcement_agency: str
    reason: str


@dataclass(frozen=True)
class AssignCaseManager:
    participant_id: str
    case_manager_id: str
    # The provider the case manager works for: a cap counts that provider's caseload, not a namesake's.
    holder: str


@dataclass(frozen=True)
class RecordScreening:
    participant_id: str
    form: dict  # type: ignore[type-arg]
    screened_by: str
    completed_at: datetime


@dataclass(frozen=True)
class UpdatePlan:
    participant_id: str
    goals: list  # type: ignore[type-arg]
    updated_by: str


@dataclass(frozen=True)
class LogContact:
    participant_id: str
    kind: str
    occurred_on: date
    staff_id: str
    notes: str | None
