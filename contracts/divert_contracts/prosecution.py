"""Events the prosecution service publishes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from divert_contracts.vocabulary import OffenseCode
from divert_kernel.events import Event


class _ProsecutionEvent(Event):
    service = "prosecution"


class ChargeHeld(_ProsecutionEvent):
    referral_id: str
    participant_id: str
    offense_codes: list[OffenseCode]
    intake_deadline: date
    held_at: datetime


class DivertedChargeClosed(_ProsecutionEvent):
    """Closed by intake: final. Non-coercion forbids filing it ever after."""

    referral_id: str
    participant_id: str
    reason: Literal["intake_completed"]
    closed_at: datetime


class HeldChargeFiled(_ProsecutionEvent):
    """Filed after the intake window lapsed without intake, attested to meet filing standards."""

    referral_id: str
    participant_id: str
    meets_filing_standards: bool
    filed_at: datetime
