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
    }
)
# Items other services told the OWG about: an extension moves the referral's deadline; a case review is the
# prosecutor's decision on a legacy case.
ITEMS = MappingProxyType({"extension": BASE, "case_review": "legal_case"})

# The person-match review queue: which participants may match (referral) and their names (identity).
MATCH_COLUMNS = MappingProxyType(
    {"participant_id": BASE, "first_name": "identity", "last_name": "identity", "date_of_birth": "identity"}
)


def categories_of(columns: MappingProxyType[str, str]) -> list[str]:
    """The categories a row of these columns needs decided, the base (`referral`) first."""
    return [BASE, *dict.fromkeys(c for c in columns.values() if c != BASE)]
