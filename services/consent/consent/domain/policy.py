"""Rules no consent can override: 42 CFR Part 2 and the golden rule."""

from __future__ import annotations

ENFORCEMENT_AGENCY_TYPES = frozenset({"police", "prosecutor"})
LABELLED_CATEGORIES = frozenset({"substance_use", "mental_health"})

REDISCLOSURE_NOTICE = (
    "This record which has been disclosed to you is protected by federal confidentiality rules (42 CFR part 2). "
    "The federal rules prohibit you from making any further disclosure of this record unless further disclosure "
    "is expressly permitted by the written consent of the individual whose information is being disclosed in this "
    "record or, is otherwise permitted by 42 CFR part 2. A general authorization for the release of medical or "
    "other information is NOT sufficient for this purpose (see 42 CFR 2.31). The federal rules restrict any use of "
    "the information to investigate or prosecute with regard to a crime any patient with a substance use disorder, "
    "except as provided at 42 CFR 2.12(c)(5) and 2.65."
)


def forbidden_whatever_consent_says(category: str, requester_agency_type: str) -> bool:
    """Substance-use data never reaches enforcement: what a participant shares is never used against them."""
    return category == "substance_use" and requester_agency_type in ENFORCEMENT_AGENCY_TYPES


def obligations(category: str) -> list[dict[str, object]]:
    """What must travel with a permitted disclosure of sensitive data."""
    if category not in LABELLED_CATEGORIES:
        return []
    return [
        {
            "kind": "security_labels",
            "labels": ["42CFRPart2", "NORDSCLCD", "R"] if category == "substance_use" else ["NORDSCLCD", "R"],
        },
        {"kind": "redisclosure_notice", "text": REDISCLOSURE_NOTICE},
    ]
