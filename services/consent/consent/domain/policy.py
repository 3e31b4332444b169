"""The decision: which basis, if any, permits one read. Pure; the rules no consent can override come first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

# Agencies that enforce the law, and the purpose a prosecutor reads for: what a participant shares through
# LEAD is never a basis for enforcement (the golden rule), and Part 2 records never serve a prosecution.
ENFORCEMENT_AGENCY_TYPES = frozenset({"police", "prosecutor"})
ENFORCEMENT_PURPOSES = frozenset({"diversion_monitoring"})
PART2_CATEGORY = "substance_use"
LABELLED_CATEGORIES = frozenset({"substance_use", "mental_health"})
BREAK_GLASS = "BTG"
# Evaluators get de-identified aggregates only, never a participant's record, whatever a consent says.
NEVER_IDENTIFIED = frozenset({"evaluator"})

REDISCLOSURE_NOTICE = (
    "This record which has been disclosed to you is protected by federal confidentiality rules (42 CFR part 2). "
    "The federal rules prohibit you from making any further disclosure of this record unless further disclosure "
    "is expressly permitted by the written consent of the individual whose information is being disclosed in this "
    "record or, is otherwise permitted by 42 CFR part 2. A general authorization for the release of medical or "
    "other information is NOT sufficient for this purpose (see 42 CFR 2.31). The federal rules restrict any use of "
    "the information to investigate or prosecute with regard to a crime any patient with a substance use disorder, "
    "except as provided at 42 CFR 2.12(c)(5) and 2.65."
)


@dataclass(frozen=True)
class AccessRequest:
    participant_id: str
    jurisdiction: str
    requester_agency: str
    requester_agency_type: str
    category: str
    purpose: str


@dataclass(frozen=True)
class Basis:
    """Something that could justify a read: a consent grant, a site grant, or a break-glass."""

    kind: str
    id: str
    categories: frozenset[str]
    purposes: frozenset[str]
    starts_at: datetime
    ends_at: datetime | None
    void: bool = False

    def permits(self, category: str, purpose: str, now: datetime) -> bool:
        in_period = self.starts_at <= now and (self.ends_at is None or now < self.ends_at)
        return not self.void and in_period and category in self.categories and purpose in self.purposes


@dataclass(frozen=True)
class Verdict:
    decision: str
    basis_kind: str = "none"
    basis_id: str | None = None
    obligations: list[dict[str, object]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def permitted(self) -> bool:
        return self.decision == "permit"


DENY = Verdict("deny")
_PREFERENCE = {"consent": 0, "site_grant": 1, "break_glass": 2}


def never_disclosed(category: str, requester_agency_type: str, purpose: str) -> bool:
    """True when no consent, grant or emergency can permit the read."""
    if requester_agency_type in NEVER_IDENTIFIED:
        return True
    enforcement = requester_agency_type in ENFORCEMENT_AGENCY_TYPES or purpose in ENFORCEMENT_PURPOSES
    return category == PART2_CATEGORY and enforcement


def obligations(category: str) -> list[dict[str, object]]:
    """What must travel with a permitted disclosure of sensitive data (42 CFR §2.32, HL7 security labels)."""
    if category not in LABELLED_CATEGORIES:
        return []
    labels = ["42CFRPart2", "NORDSCLCD", "R"] if category == PART2_CATEGORY else ["NORDSCLCD", "R"]
    return [{"kind": "security_labels", "labels": labels}, {"kind": "redisclosure_notice", "text": REDISCLOSURE_NOTICE}]


def decide(request: AccessRequest, bases: Iterable[Basis], now: datetime) -> Verdict:
    """Permit only on a live basis naming the category and purpose; break-glass only for purpose BTG."""
    if never_disclosed(request.category, request.requester_agency_type, request.purpose):
        return DENY
    emergency = request.purpose == BREAK_GLASS
    usable = [b for b in bases if (b.kind == "break_glass") == emergency]
    for basis in sorted(usable, key=lambda b: (_PREFERENCE[b.kind], b.id)):
        if basis.permits(request.category, request.purpose, now):
            flags = ["break_glass"] if emergency else []
            return Verdict("permit", basis.kind, basis.id, obligations(request.category), flags)
    return DENY
