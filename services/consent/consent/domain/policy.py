"""The decision: which basis, if any, permits one read. Pure; the rules no consent can override come first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from divert_kernel.sites import (
    ROI_ONLY_CATEGORIES as ROI_ONLY_CATEGORIES,  # only a participant's own ROI opens these (DESIGN §5)
)

# Agencies that enforce the law, and the purpose a prosecutor reads for: what a participant shares through
# LEAD is never a basis for enforcement (the golden rule), and Part 2 records never serve a prosecution.
ENFORCEMENT_AGENCY_TYPES = frozenset({"police", "prosecutor"})
ENFORCEMENT_PURPOSES = frozenset({"diversion_monitoring"})
PART2_CATEGORY = "substance_use"
BREAK_GLASS = "BTG"
# Evaluators get de-identified aggregates only, never a participant's record, whatever a consent says.
NEVER_IDENTIFIED = frozenset({"evaluator"})

# 42 CFR §2.32(a)(1) as amended by the February 2024 final rule (89 FR 12472), word for word.
REDISCLOSURE_NOTICE = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules (42 CFR part 2). "
    "These rules prohibit you from using or disclosing this record, or testimony that describes the information "
    "contained in this record, in any civil, criminal, administrative, or legislative proceedings by any Federal, "
    "State, or local authority, against the patient, unless authorized by the consent of the patient, except as "
    "provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR 2.64 or 2.65. In "
    "addition, the Federal rules prohibit you from making any other use or disclosure of this record unless at "
    "least one of the following applies: (i) Further use or disclosure is expressly permitted by the written "
    "consent of the individual whose information is being disclosed in this record or as otherwise permitted by "
    "42 CFR part 2. (ii) You are a covered entity or business associate and have received the record for "
    "treatment, payment, or health care operations, or (iii) You have received the record from a covered entity "
    "or business associate as permitted by 45 CFR part 164, subparts A and E. A general authorization for the "
    "release of medical or other information is NOT sufficient to meet the required elements of written consent "
    "to further use or redisclose the record (see 42 CFR 2.31)."
)
# HL7 security labels: confidentiality R (restricted), sensitivity ETH (substance use) or MH (mental health),
# the 42CFRPart2 policy and the NORDSCLCD refrain (no redisclosure without consent). Mental health is
# sensitive but not Part 2: no Part 2 label, no refrain, no notice.
PART2_LABELS = ("R", "ETH", "42CFRPart2", "NORDSCLCD")
MENTAL_HEALTH_LABELS = ("R", "MH")
# Break-glass is for case-management staff, about the participant's own safety.
BREAK_GLASS_AGENCY_TYPE = "case_management"


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
    if purpose == BREAK_GLASS and (requester_agency_type != BREAK_GLASS_AGENCY_TYPE or category == PART2_CATEGORY):
        return True
    enforcement = requester_agency_type in ENFORCEMENT_AGENCY_TYPES or purpose in ENFORCEMENT_PURPOSES
    return category == PART2_CATEGORY and enforcement


def obligations(category: str) -> list[dict[str, object]]:
    """What must travel with a permitted disclosure of sensitive data (42 CFR §2.32, HL7 security labels)."""
    if category == PART2_CATEGORY:
        return [
            {"kind": "security_labels", "labels": list(PART2_LABELS)},
            {"kind": "redisclosure_notice", "text": REDISCLOSURE_NOTICE},
        ]
    if category == "mental_health":
        return [{"kind": "security_labels", "labels": list(MENTAL_HEALTH_LABELS)}]
    return []


def _usable(basis: Basis, request: AccessRequest) -> bool:
    if (basis.kind == "break_glass") != (request.purpose == BREAK_GLASS):
        return False
    # Defence in depth: whatever a stored term says, a site grant never opens an ROI-only category.
    return not (basis.kind == "site_grant" and request.category in ROI_ONLY_CATEGORIES)


def decide(request: AccessRequest, bases: Iterable[Basis], now: datetime) -> Verdict:
    """Permit only on a live basis naming the category and purpose; break-glass only for purpose BTG."""
    if never_disclosed(request.category, request.requester_agency_type, request.purpose):
        return DENY
    usable = [b for b in bases if _usable(b, request)]
    for basis in sorted(usable, key=lambda b: (_PREFERENCE[b.kind], b.id)):
        if basis.permits(request.category, request.purpose, now):
            flags = ["break_glass"] if request.purpose == BREAK_GLASS else []
            return Verdict("permit", basis.kind, basis.id, obligations(request.category), flags)
    return DENY


_ALWAYS = datetime.min.replace(tzinfo=UTC)


def consent_would_permit(requester_agency_type: str, category: str, purpose: str) -> bool:
    """What `decide` answers for a read a live consent names: only the rules no consent overrides can refuse it.
    The consent preview tells the participant this, so it says exactly what the gate will decide."""
    basis = Basis("consent", "preview", frozenset({category}), frozenset({purpose}), _ALWAYS, None)
    request = AccessRequest("", "", "", requester_agency_type, category, purpose)
    return decide(request, [basis], _ALWAYS).permitted
