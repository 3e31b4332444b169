"""Events the prosecution service publishes. Codes, ids and dates: rationales stay in the prosecutor's database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from divert_contracts.vocabulary import OffenseCode
from divert_kernel.events import Event, JsonDict, upcaster

ReviewDecision = Literal[
    "decline_to_file",
    "dismiss_without_prejudice",
    "continue_to_monitor",
    "support_release_motion",
    "recommended_disposition",
]
CaseKind = Literal["legacy", "post_diversion"]


class _ProsecutionEvent(Event):
    service = "prosecution"


class ChargeHeld(_ProsecutionEvent):
    referral_id: str
    participant_id: str
    offense_codes: list[OffenseCode]
    intake_deadline: date
    held_at: datetime
    charging_reference: str | None = None
    # The prosecutor's office holding the charge (its owner). None only in events recorded before offices were named.
    prosecutor_agency: str | None = None


class DivertedChargeClosed(_ProsecutionEvent):
    """Closed by intake: final. Non-coercion forbids filing it ever after."""

    referral_id: str
    participant_id: str
    # intake_completed: this charge's intake; participant_enrolled: a new diversion of someone already enrolled.
    reason: Literal["intake_completed", "participant_enrolled"]
    closed_at: datetime


class HeldChargeDeadlineMoved(_ProsecutionEvent):
    """The intake deadline moved with an extension the Operations Work Group granted."""

    referral_id: str
    participant_id: str
    intake_deadline: date
    moved_at: datetime


class IntakeDeadlineLapsed(_ProsecutionEvent):
    """The window passed without intake or extension: only now may the prosecutor decide to file."""

    referral_id: str
    participant_id: str
    intake_deadline: date
    lapsed_at: datetime


class HeldChargeFiled(_ProsecutionEvent):
    """Filed after the intake window lapsed without intake, attested to meet filing standards."""

    referral_id: str
    participant_id: str
    meets_filing_standards: bool
    filed_at: datetime


class HeldChargeNotFiled(_ProsecutionEvent):
    referral_id: str
    participant_id: str
    decided_at: datetime


class LegacyCaseRegistered(_ProsecutionEvent):
    """A participant's pending case (legacy) or an arrest after enrollment (post_diversion).

    Version 2 names the charges' NIBRS codes `offense_codes`, as every other event does (version 1 said
    `charge_codes`; stored version-1 events are upcast on load, and divert_contracts.superseded keeps its schema).
    """

    schema_version = 2

    case_id: str
    participant_id: str
    kind: CaseKind
    docket_number: str
    court: str
    offense_codes: list[OffenseCode]
    filed_at: date
    registered_at: datetime
    # The prosecutor's office that registered (and owns) the case. None only in events recorded before owners.
    agency: str | None = None


@upcaster("prosecution", "LegacyCaseRegistered", 1)
def _case_registered_v1_to_v2(data: JsonDict) -> JsonDict:
    lifted = {k: v for k, v in data.items() if k != "charge_codes"}
    lifted["offense_codes"] = data.get("charge_codes", [])
    return lifted


class LegacyCaseReviewed(_ProsecutionEvent):
    case_id: str
    participant_id: str
    decision: ReviewDecision
    reviewed_at: datetime
    # continue_to_monitor: when the Operations Work Group should see the case again.
    follow_up_on: date | None = None


class CourtDateScheduled(_ProsecutionEvent):
    court_date_id: str
    case_id: str
    participant_id: str
    scheduled_for: datetime
    hearing: str
    scheduled_at: datetime


class HeldChargeReturned(_ProsecutionEvent):
    """The person declined diversion: the charge goes back to ordinary processing, with no other consequence."""

    referral_id: str
    participant_id: str
    returned_at: datetime
