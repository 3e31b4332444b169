"""Which data category each part of a referral discloses: one table for the single read and the meeting views.

A part or column not named here is never served to anyone: adding one to a query shows nothing until it is
given a category.
"""

from __future__ import annotations

from types import MappingProxyType

BASE = "referral"
# Held by the provider named in the warm hand-off, not by the referring agency: intake and case manager come
# from case management's events.
CASE_MANAGEMENT = "assessment"

# GET /v1/referrals/{id}: the parts beyond the referral itself. The incident's details (officer, location, the
# RMS incident number) are the arrest record, so `legal_case`, not `referral`: a referral permit alone (e.g. the
# MOU's packet to the charge holder) does not reveal where it happened or who made the arrest.
PARTS = MappingProxyType(
    {"person": "identity", "officer": "legal_case", "location": "legal_case", "rms_incident_number": "legal_case"}
)

# The OWG agenda and roster: each participant row's columns.
COLUMNS = MappingProxyType(
    {
        "referral_id": BASE,
        "participant_id": BASE,
        "referral_type": BASE,
        "status": BASE,
        "referring_agency": BASE,
        "offense_codes": BASE,
        "created_at": BASE,
        "current_deadline": BASE,
        "handoff_agency": BASE,
        "owg_decided_by": BASE,
        "owg_reason": BASE,
        "owg_decided_at": BASE,
        "first_name": "identity",
        "last_name": "identity",
        "date_of_birth": "identity",
        "race": "identity",
        "ethnicity": "identity",
        "gender": "identity",
        "age_band": "identity",
        "officer_badge": "legal_case",
        "officer_name": "legal_case",
        "intake_completed": CASE_MANAGEMENT,
        "intake_completed_at": CASE_MANAGEMENT,
        "case_manager_id": CASE_MANAGEMENT,
        "enrolment": CASE_MANAGEMENT,
        "not_enrolled_reason": CASE_MANAGEMENT,
        "enrolment_changed_at": CASE_MANAGEMENT,
        "pending_reason": BASE,
        "lapsed_deadline": BASE,
        "lapsed_at": BASE,
        "extended_to": BASE,
        "extension_granted_by": BASE,
        "law_enforcement_agency": BASE,
        "extended_at": BASE,
        "case_id": "legal_case",
        "case_kind": "legal_case",
        "docket_number": "legal_case",
        "court": "legal_case",
        "charge_codes": "legal_case",
        "case_filed_at": "legal_case",
        "case_registered_at": "legal_case",
        "review_decision": "legal_case",
        "reviewed_at": "legal_case",
        "follow_up_on": "legal_case",
        "plan_version": "plan",
        "goal_count": "plan",
        "plan_updated_at": "plan",
        "contacts_since": "contacts",
    }
)

# Who holds each column: the row field naming that agency (its records are its own); several fields, held
# jointly. Not named: the referring agency. Case management's columns are the provider's named in the hand-off;
# a lapse or an extension is the referral's and equally the record of the office holding the charge or of the
# agency that recorded the extension; a case is its prosecutor's office's.
REFERRER = ("referring_agency",)
PROVIDER = ("handoff_agency",)
WINDOW = ("referring_agency", "co_holder")
CASE_OFFICE = ("case_agency",)
_BY_PROVIDER = (
    "intake_completed",
    "intake_completed_at",
    "case_manager_id",
    "enrolment",
    "not_enrolled_reason",
    "enrolment_changed_at",
    "plan_version",
    "goal_count",
    "plan_updated_at",
    "contacts_since",
)
_BY_WINDOW = (
    "lapsed_deadline",
    "lapsed_at",
    "extended_to",
    "extension_granted_by",
    "law_enforcement_agency",
    "extended_at",
)
_BY_CASE_OFFICE = tuple(c for c, k in COLUMNS.items() if k == "legal_case" and not c.startswith("officer_"))
HOLDERS = MappingProxyType(
    {
        **dict.fromkeys(_BY_PROVIDER, PROVIDER),
        **dict.fromkeys(_BY_WINDOW, WINDOW),
        **dict.fromkeys(_BY_CASE_OFFICE, CASE_OFFICE),
    }
)


def holder_of(column: str) -> tuple[str, ...]:
    return HOLDERS.get(column, REFERRER)


# What decides whether an agenda section's row is there at all: (holder, category). Withheld: absent.
ANCHORS = MappingProxyType(
    {
        "referral_review": (REFERRER, BASE),
        "new_referrals": (REFERRER, BASE),
        "intake_status": (REFERRER, BASE),
        "upcoming_deadlines": (REFERRER, BASE),
        "lapsed": (WINDOW, BASE),
        "extensions": (WINDOW, BASE),
        "cases_awaiting_review": (CASE_OFFICE, "legal_case"),
        "follow_ups_due": (CASE_OFFICE, "legal_case"),
        "case_plans": (PROVIDER, "plan"),
        "participants": (REFERRER, BASE),
    }
)

# The person-match review queue: which participants may match (referral) and their names (identity).
MATCH_COLUMNS = MappingProxyType(
    {"participant_id": BASE, "first_name": "identity", "last_name": "identity", "date_of_birth": "identity"}
)


def categories_of(columns: MappingProxyType[str, str]) -> list[str]:
    """The categories a row of these columns needs decided, the base (`referral`) first."""
    return [BASE, *dict.fromkeys(c for c in columns.values() if c != BASE)]
