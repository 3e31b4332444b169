"""What enrolment needs (toolkit VII.C) and the open referrals it is decided from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from casemgmt.domain.errors import InvalidStatus, RoiNotYetSeen
from divert_contracts.casemgmt import MergedReferral

STATUSES = ("active", "inactive", "exited")
# The toolkit's "no failure" rule: these words describe other programs, never a LEAD participant.
REFUSED_STATUSES = {
    "failed": "LEAD has no failure status: a participant is active or inactive",
    "terminated": "participants are never terminated for non-compliance; the only exit is a Code of Conduct violation",
    "graduated": "LEAD is long-term case management with no graduation; use active or inactive",
    "noncompliant": "non-compliance has no consequence in LEAD; use active or inactive",
}
# What closes a referral, and the reason a person with nothing else open is then not enrolled.
NOT_ENROLLED_BY = {"declined": "declined", "owg_denied": "owg_denied", "lapsed": "intake_lapsed"}


@dataclass(frozen=True)
class ConsentToParticipate:
    """The participant's written consent to take part: when it was signed, and the signed document's hash."""

    signed_at: datetime
    signed_document_sha256: str


@dataclass(frozen=True)
class RoiOnFile:
    """The consent service's answer at the moment of intake."""

    on_file: bool
    consent_id: str | None
    holder_known: bool


@dataclass
class OpenReferral:
    """A referral awaiting intake. Social contacts wait for the OWG; a lapsed window stays open for a late intake."""

    referral_type: str
    deadline: date | None
    original_deadline: date | None
    intake_target: date | None = None
    lapsed: bool = False
    owg_cleared: bool = True

    @classmethod
    def opened(cls, referral_type: str, deadline: date | None, intake_target: date | None) -> OpenReferral:
        return cls(referral_type, deadline, deadline, intake_target, owg_cleared=referral_type != "social_contact")

    @classmethod
    def merged(cls, moved: MergedReferral) -> OpenReferral:
        return cls(
            moved.referral_type,
            moved.intake_deadline,
            moved.original_deadline,
            moved.intake_target,
            moved.lapsed,
            moved.owg_cleared,
        )

    def moved(self, referral_id: str) -> MergedReferral:
        return MergedReferral(
            referral_id=referral_id,
            referral_type=self.referral_type,
            intake_deadline=self.deadline,
            original_deadline=self.original_deadline,
            intake_target=self.intake_target,
            lapsed=self.lapsed,
            owg_cleared=self.owg_cleared,
        )


def check_preconditions(consent: ConsentToParticipate | None, roi: RoiOnFile, completed_at: datetime) -> None:
    """Both preconditions of enrolment, or the refusal that names what is missing."""
    if consent is None:
        raise InvalidStatus(
            "enrolment needs the participant's written consent to take part", field="consent_to_participate"
        )
    if consent.signed_at > completed_at:
        raise InvalidStatus(
            "consent to take part is signed before intake is completed", field="consent_to_participate.signed_at"
        )
    if not roi.holder_known:
        raise RoiNotYetSeen()
    if not roi.on_file:
        raise InvalidStatus(
            "enrolment needs a signed, unexpired, unrevoked ROI naming the provider that holds the participant",
            field="roi",
        )


def check_status(status: str, reason: str) -> None:
    """An enrolled participant is active or inactive; the only exit is a Code of Conduct violation."""
    if status in REFUSED_STATUSES:
        raise InvalidStatus(REFUSED_STATUSES[status], field="status")
    if status not in STATUSES:
        raise InvalidStatus(f"status must be one of {', '.join(STATUSES)}", field="status")
    if status == "exited" and reason != "code_of_conduct":
        raise InvalidStatus("the only exit is a Code of Conduct violation: reason 'code_of_conduct'", field="reason")


def changes(referral: OpenReferral, state: str, deadline: date | None) -> bool:
    """Whether what was learned about an open referral changes it (events may arrive again)."""
    if state == "owg_approved":
        return not referral.owg_cleared
    if state == "lapsed":
        return not referral.lapsed
    if state == "deadline_moved":
        return deadline is not None and (referral.lapsed or deadline != referral.deadline)
    return True


def earliest(dates: Iterable[date | None]) -> date | None:
    known = [d for d in dates if d is not None]
    return min(known) if known else None
