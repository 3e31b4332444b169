"""Instructions the prosecution service accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class DecideHeldCharge:
    """File (with the attestation) or decline to file a held charge whose intake window lapsed."""

    referral_id: str
    decided_by_agency_type: str
    file: bool


@dataclass(frozen=True)
class Charge:
    code: str
    description: str


@dataclass(frozen=True)
class RegisterCase:
    """Register a case; the registering office (`agency` in `jurisdiction`) owns it."""

    participant_id: str
    jurisdiction: str
    agency: str
    kind: str
    docket_number: str
    court: str
    charges: tuple[Charge, ...]
    filed_at: date


@dataclass(frozen=True)
class ReviewCase:
    case_id: str
    decision: str
    rationale: str
    reviewed_by: str
    # continue_to_monitor only; None takes the default (30 days after the review, the site's local date).
    follow_up_on: date | None = None


@dataclass(frozen=True)
class ScheduleCourtDate:
    case_id: str
    scheduled_for: datetime
    hearing: str


@dataclass(frozen=True)
class LapseDueCharges:
    """Record the lapse of every held charge whose intake window has passed at its site (sent on a schedule)."""
