"""Instructions the case-management service accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class CompleteIntake:
    participant_id: str
    completed_at: datetime


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
