"""Events the case-management service publishes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from divert_kernel.events import Event


class _CaseEvent(Event):
    service = "casemgmt"


class CaseOpened(_CaseEvent):
    """Case management holds a record for a referred participant, intake pending."""

    participant_id: str
    referral_id: str
    referral_type: str
    intake_deadline: date | None


class IntakeCompleted(_CaseEvent):
    """The biopsychosocial intake is done: the diverted charge can never be filed."""

    participant_id: str
    referral_ids: list[str]
    completed_at: datetime


class ParticipantStatusChanged(_CaseEvent):
    participant_id: str
    status: Literal["active", "inactive", "exited"]
    reason: str
    changed_at: datetime


class IntakeDeadlineExtended(_CaseEvent):
    """The Operations Work Group moved the intake deadline, with law enforcement's agreement recorded."""

    participant_id: str
    referral_ids: list[str]
    intake_deadline: date
    granted_by: str
    law_enforcement_agency: str
    extended_at: datetime
