"""Instructions the case-management service accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CompleteIntake:
    participant_id: str
    completed_at: datetime


@dataclass(frozen=True)
class ChangeStatus:
    participant_id: str
    status: str
    reason: str
