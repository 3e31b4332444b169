"""Which events move someone along the continuum, and the fact each leaves: ids, codes and times only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from divert_contracts import casemgmt, prosecution, referral
from divert_kernel.events import Event
from evaluation.domain.facts import DIMENSIONS, Fact


def _codes(event: Any) -> dict[str, Any]:
    return {d: getattr(event, d, None) for d in DIMENSIONS}


def _referred(e: Any) -> Fact:
    data = _codes(e) | {
        "referral_type": e.referral_type,
        "referring_agency": e.referring_agency,
        "officer_unit": e.officer_unit,
        "intake_deadline": str(getattr(e, "intake_deadline", None) or "") or None,
    }
    return Fact("referred", e.referral_id, getattr(e, "offered_at", None) or e.submitted_at, e.participant_id, data)


def _step(kind: str, at: str) -> Callable[[Any], Fact]:
    return lambda e: Fact(kind, e.referral_id, getattr(e, at), e.participant_id)


def _deadline(at: str) -> Callable[[Any], list[Fact]]:
    def facts(e: Any) -> list[Fact]:
        ids = getattr(e, "referral_ids", None) or [e.referral_id]
        return [
            Fact("deadline", r, getattr(e, at), e.participant_id, {"intake_deadline": str(e.intake_deadline)})
            for r in ids
        ]

    return facts


FACTS: dict[str, dict[str, Callable[[Any], Fact | list[Fact]]]] = {
    "referral": {
        "ContactScreened": lambda e: Fact(
            "screened",
            e.screening_id,
            e.screened_at,
            None,
            _codes(e) | {"eligible": e.eligible, "referral_type": e.referral_type},
        ),
        "EligibleContactNotDiverted": lambda e: Fact(
            "not_diverted", e.record_id, e.recorded_at, None, _codes(e) | {"reason": e.reason}
        ),
        "DiversionOffered": _referred,
        "SocialContactReferralSubmitted": _referred,
        "DiversionAccepted": _step("accepted", "accepted_at"),
        "DiversionDeclined": _step("declined", "declined_at"),
        "SocialContactReferralApproved": _step("approved", "decided_at"),
        "SocialContactReferralDenied": _step("denied", "decided_at"),
        "WarmHandoffCompleted": _step("handed_off", "completed_at"),
        "ParticipantsLinked": lambda e: Fact(
            "linked",
            e.review_id,
            e.linked_at,
            None,
            {"survivor": e.survivor_participant_id, "merged": e.merged_participant_id},
        ),
    },
    "casemgmt": {
        "IntakeCompleted": lambda e: Fact(
            "intake", e.participant_id, e.completed_at, e.participant_id, {"referral_ids": list(e.referral_ids)}
        ),
        "ParticipantStatusChanged": lambda e: Fact(
            "status", e.participant_id, e.changed_at, e.participant_id, {"status": e.status}
        ),
        "IntakeDeadlineExtended": _deadline("extended_at"),
    },
    "prosecution": {
        "IntakeDeadlineLapsed": _step("lapsed", "lapsed_at"),
        "HeldChargeFiled": _step("filed", "filed_at"),
        "HeldChargeDeadlineMoved": _deadline("moved_at"),
    },
}
# The contracts the table reads, named so a renamed field fails at import, not on the first event.
CONTRACTS = (referral.ContactScreened, casemgmt.IntakeCompleted, prosecution.HeldChargeFiled)


def facts_of(service: str, event_type: str, event: Event) -> list[Fact]:
    made = FACTS.get(service, {}).get(event_type)
    if made is None:
        return []
    out = made(event)
    return out if isinstance(out, list) else [out]
