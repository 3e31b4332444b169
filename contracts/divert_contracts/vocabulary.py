"""Codes shared by every service and partner: agency types, data categories, purposes, demographics."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints

AgencyType = Literal[
    "police", "case_management", "prosecutor", "defender", "project_manager", "community", "evaluator", "auditor"
]
AGENCY_TYPES: tuple[str, ...] = AgencyType.__args__  # type: ignore[attr-defined]

Category = Literal[
    "identity",
    "referral",
    "screening",
    "assessment",
    "substance_use",
    "mental_health",
    "plan",
    "contacts",
    "legal_case",
    "court_dates",
    "housing",
    "benefits",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]

Purpose = Literal["care_coordination", "diversion_monitoring", "defense", "program_operations", "evaluation", "BTG"]
PURPOSES: tuple[str, ...] = Purpose.__args__  # type: ignore[attr-defined]

# The purpose a read serves when the caller does not name one: what that kind of agency does in LEAD.
DEFAULT_PURPOSE: dict[str, str] = {
    "police": "care_coordination",
    "case_management": "care_coordination",
    "prosecutor": "diversion_monitoring",
    "defender": "defense",
    "project_manager": "program_operations",
    "community": "care_coordination",
    "evaluator": "evaluation",
    "auditor": "program_operations",
}

ReferralType = Literal["arrest_diversion", "social_contact"]
ReferredTo = Literal["shelter", "treatment", "crisis_services", "other_community_services"]

Race = Literal[
    "american_indian_or_alaska_native",
    "asian",
    "black",
    "native_hawaiian_or_pacific_islander",
    "white",
    "multiracial",
    "other",
    "unknown",
]
Ethnicity = Literal["hispanic_or_latino", "not_hispanic_or_latino", "unknown"]
Gender = Literal["female", "male", "nonbinary", "transgender_female", "transgender_male", "other", "unknown"]
AgeBand = Literal["under_18", "18-24", "25-34", "35-44", "45-54", "55-64", "65_and_over", "unknown"]

Jurisdiction = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
AgencyId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{1,62}$")]
OffenseCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.()/-]{0,31}$")]
# A police unit (precinct, squad) as the agency codes it: a code, never a name, for per-unit equity views.
# `total` and `no_unit` name the per-unit view's own rows (an agency's total, referrals with no unit): a unit so
# coded would be counted into, or shown as, one of them.
RESERVED_UNIT_CODES = frozenset({"total", "no_unit"})


def _not_reserved(code: str) -> str:
    if code.lower() in RESERVED_UNIT_CODES:
        raise ValueError(f"unit codes {' and '.join(sorted(RESERVED_UNIT_CODES))} are reserved")
    return code


UnitCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"), AfterValidator(_not_reserved)
]
