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


Enrolment = Literal["referred", "enrolled", "not_enrolled"]
NotEnrolledReason = Literal["declined", "owg_denied", "intake_lapsed", "withdrew"]


class EnrolmentChanged(_CaseEvent):
    """Where the person stands (DESIGN §3): referred until intake, then enrolled; or not enrolled, and why."""

    participant_id: str
    enrolment: Enrolment
    not_enrolled_reason: NotEnrolledReason | None = None
    changed_at: datetime


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


class CaseManagerAssigned(_CaseEvent):
    participant_id: str
    case_manager_id: str
    assigned_at: datetime


class InitialScreeningCompleted(_CaseEvent):
    """The screening form itself stays in case management: this says only that it was done, and when."""

    participant_id: str
    screened_by: str
    completed_at: datetime


class InterventionPlanUpdated(_CaseEvent):
    participant_id: str
    plan_version: int
    goal_count: int
    updated_at: datetime


class ContactLogged(_CaseEvent):
    participant_id: str
    contact_id: str
    kind: Literal["street", "office", "phone", "accompanied_appointment", "court"]
    occurred_on: date


class ProgramCapacityChanged(_CaseEvent):
    """How many participants the program carries against what it can: referrals wait for room, never get lost."""

    active_participants: int
    capacity: int
    changed_at: datetime
