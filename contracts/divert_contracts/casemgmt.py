"""Events the case-management service publishes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from divert_kernel.events import Event


class _CaseEvent(Event):
    service = "casemgmt"


class CaseOpened(_CaseEvent):
    """Case management holds a record for a referred participant, intake pending."""

    participant_id: str
    referral_id: str
    referral_type: str
    intake_deadline: date | None
    # Social contacts: the site's intake target (a local date; tracked and shown, no consequence).
    intake_target: date | None = None


class ReferralStateChanged(_CaseEvent):
    """What case management learned about one open referral from police, the OWG or the prosecutor."""

    participant_id: str
    referral_id: str
    # declined / owg_denied close it; owg_approved clears a social contact for case management (a waitlisted
    # approval only once released); lapsed marks its window passed; deadline_moved reopens that window.
    state: Literal["declined", "owg_denied", "owg_approved", "lapsed", "deadline_moved"]
    intake_deadline: date | None = None
    changed_at: datetime


class MergedReferral(BaseModel):
    """An open referral carried over from a merged record: ids, codes and dates only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    referral_id: str
    referral_type: str
    intake_deadline: date | None
    original_deadline: date | None
    intake_target: date | None = None
    lapsed: bool = False
    owg_cleared: bool = True


class CaseMerged(_CaseEvent):
    """A person match: the merged record's open referrals now belong to this (the surviving) participant."""

    participant_id: str
    merged_participant_id: str
    referrals: list[MergedReferral]
    merged_was_enrolled: bool
    merged_at: datetime


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
