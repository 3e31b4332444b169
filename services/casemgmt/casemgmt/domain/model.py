"""The participant's case: referrals, enrolment, and status. There is no failure status.

A person is referred while a referral is open, enrolled once intake is completed with its two preconditions, or
not enrolled (declined, denied by the OWG, lapsed, withdrew) until a new offer or an extension. `status`
(active / inactive / exited) describes enrolled participants only.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import singledispatchmethod

from casemgmt.domain.care import CareRecords
from casemgmt.domain.enrolment import (
    NOT_ENROLLED_BY,
    ConsentToParticipate,
    OpenReferral,
    RoiOnFile,
    changes,
    check_preconditions,
    check_status,
    earliest,
)
from casemgmt.domain.errors import (
    AwaitingOwgApproval,
    CannotWithdraw,
    IntakeAlreadyCompleted,
    InvalidStatus,
    NoOpenReferral,
    NotEnrolled,
)
from casemgmt.domain.site import ExtensionBounds, ProgramCapacity
from divert_contracts.casemgmt import (
    CaseManagerAssigned,
    CaseMerged,
    CaseOpened,
    ContactLogged,
    EnrolmentChanged,
    InitialScreeningCompleted,
    IntakeCompleted,
    IntakeDeadlineExtended,
    InterventionPlanUpdated,
    ParticipantStatusChanged,
    ReferralStateChanged,
)
from divert_kernel.aggregate import Aggregate
from divert_kernel.events import Event

__all__ = ["ExtensionBounds", "ParticipantCase", "ProgramCapacity"]


class ParticipantCase(CareRecords, Aggregate):
    stream_prefix = "participant"

    def __init__(self, participant_id: str, jurisdiction: str) -> None:
        super().__init__(participant_id, jurisdiction)
        self.enrolment: str | None = None
        self.not_enrolled_reason: str | None = None
        self.status: str | None = None
        self.referrals: dict[str, OpenReferral] = {}
        self.seen: set[str] = set()
        self.merged_from: set[str] = set()
        self.intake_completed_at: datetime | None = None
        self.case_manager_id: str | None = None
        self.plan_version = 0

    # Referrals and where the person stands

    def receive_referral(
        self, referral_id: str, referral_type: str, intake_deadline: date | None, now: datetime, target: date | None
    ) -> None:
        """A new offer or social-contact referral: referred (again), unless already enrolled."""
        if referral_id in self.seen:
            return
        was = self.enrolment
        self._record(
            CaseOpened(
                participant_id=self.id,
                referral_id=referral_id,
                referral_type=referral_type,
                intake_deadline=intake_deadline,
                intake_target=target,
            )
        )
        self._referred_again(was, now)

    def note_referral(self, referral_id: str, state: str, now: datetime, intake_deadline: date | None = None) -> None:
        """What police, the OWG or the prosecutor decided about one open referral (repeats change nothing)."""
        referral = self.referrals.get(referral_id)
        if referral is None or not changes(referral, state, intake_deadline):
            return
        was = self.enrolment
        self._record(
            ReferralStateChanged(
                participant_id=self.id,
                referral_id=referral_id,
                state=state,  # type: ignore[arg-type]
                intake_deadline=intake_deadline,
                changed_at=now,
            )
        )
        if state in NOT_ENROLLED_BY:
            self._not_enrolled_if_nothing_live(NOT_ENROLLED_BY[state], now)
        elif state == "deadline_moved":
            self._referred_again(was, now)

    def withdraw(self, now: datetime) -> None:
        """The person withdraws before intake: not enrolled, and nothing else follows from it."""
        if self.enrolment != "referred":
            raise CannotWithdraw(self.enrolment)
        self._enrolment("not_enrolled", now, "withdrew")

    def complete_intake(
        self, completed_at: datetime, now: datetime, consent: ConsentToParticipate | None, roi: RoiOnFile
    ) -> None:
        """Enrol: every open referral (a lapsed one too: a late intake still wins) is done, and the person active."""
        if completed_at > now:
            raise InvalidStatus("intake cannot be completed in the future", field="completed_at")
        if self.enrolment == "enrolled":
            raise IntakeAlreadyCompleted()
        self.check_owg_approval("intake")
        if not self.referrals:
            raise NoOpenReferral()
        check_preconditions(consent, roi, completed_at)
        self._record(
            IntakeCompleted(participant_id=self.id, referral_ids=sorted(self.referrals), completed_at=completed_at)
        )
        self._enrolment("enrolled", now)
        self._record(
            ParticipantStatusChanged(participant_id=self.id, status="active", reason="enrolled", changed_at=now)
        )

    def absorb(self, merged: ParticipantCase, now: datetime) -> None:
        """A person match: this record survives and takes over the merged record's open referrals and enrolment."""
        if merged.id in self.merged_from or merged.id == self.id:
            return
        was = self.enrolment
        moved = [r.moved(rid) for rid, r in sorted(merged.referrals.items()) if rid not in self.seen]
        merged_enrolled = merged.enrolment == "enrolled"
        self._record(
            CaseMerged(
                participant_id=self.id,
                merged_participant_id=merged.id,
                referrals=moved,
                merged_was_enrolled=merged_enrolled,
                merged_at=now,
            )
        )
        if merged_enrolled and was != "enrolled":
            self._enrolment("enrolled", now)
            status = merged.status or "active"
            self._record(
                ParticipantStatusChanged(participant_id=self.id, status=status, reason="person_match", changed_at=now)  # type: ignore[arg-type]
            )
        elif moved:
            self._referred_again(was, now)

    def _referred_again(self, was: str | None, now: datetime) -> None:
        if was not in ("referred", "enrolled") and self.referrals:
            self._enrolment("referred", now)

    def _not_enrolled_if_nothing_live(self, reason: str, now: datetime) -> None:
        if self.enrolment == "referred" and not any(not r.lapsed for r in self.referrals.values()):
            self._enrolment("not_enrolled", now, reason)

    def _enrolment(self, enrolment: str, now: datetime, reason: str | None = None) -> None:
        self._record(
            EnrolmentChanged(
                participant_id=self.id,
                enrolment=enrolment,  # type: ignore[arg-type]
                not_enrolled_reason=reason,  # type: ignore[arg-type]
                changed_at=now,
            )
        )

    def check_owg_approval(self, action: str) -> None:
        """A social contact waits for the OWG: until an approval (or a release) nothing in case management starts."""
        if self.enrolment == "enrolled" or any(r.owg_cleared for r in self.referrals.values()):
            return
        if self.referrals or self.not_enrolled_reason == "owg_denied":
            raise AwaitingOwgApproval(action)

    # Status, extensions and care

    def change_status(self, status: str, reason: str, now: datetime) -> None:
        check_status(status, reason)
        if self.enrolment != "enrolled":
            raise NotEnrolled()
        self._record(ParticipantStatusChanged(participant_id=self.id, status=status, reason=reason, changed_at=now))  # type: ignore[arg-type]

    def extend_intake(
        self, new_deadline: date, granted_by: str, law_enforcement_agency: str, now: datetime, bounds: ExtensionBounds
    ) -> None:
        """Move every open deadline to `new_deadline` (a lapsed one too), within the site's bounds: referred again."""
        current = self.intake_deadline
        if current is None or self.enrolment == "enrolled":
            raise InvalidStatus("no intake deadline is pending for this participant", field="participant_id")
        if new_deadline <= current:
            raise InvalidStatus(
                f"an extension moves the deadline later than {current.isoformat()}", field="intake_deadline"
            )
        bounds.check(current, self.original_deadline or current, new_deadline)
        was = self.enrolment
        self._record(
            IntakeDeadlineExtended(
                participant_id=self.id,
                referral_ids=sorted(r for r, o in self.referrals.items() if o.deadline is not None),
                intake_deadline=new_deadline,
                granted_by=granted_by,
                law_enforcement_agency=law_enforcement_agency,
                extended_at=now,
            )
        )
        self._referred_again(was, now)

    @property
    def intake_deadline(self) -> date | None:
        return earliest(r.deadline for r in self.referrals.values())

    @property
    def intake_target(self) -> date | None:
        return earliest(r.intake_target for r in self.referrals.values())

    @property
    def original_deadline(self) -> date | None:
        """The earliest open deadline as the referral set it, before any extension."""
        return earliest(r.original_deadline for r in self.referrals.values())

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"ParticipantCase cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: CaseOpened) -> None:
        self.seen.add(event.referral_id)
        if self.enrolment != "enrolled":
            self.referrals[event.referral_id] = OpenReferral.opened(
                event.referral_type, event.intake_deadline, event.intake_target
            )
            # Streams recorded before enrolment was: an open referral means referred.
            self.enrolment = self.enrolment or "referred"

    @apply.register
    def _(self, event: ReferralStateChanged) -> None:
        referral = self.referrals[event.referral_id]
        if event.state in ("declined", "owg_denied"):
            del self.referrals[event.referral_id]
        elif event.state == "owg_approved":
            referral.owg_cleared = True
        elif event.state == "lapsed":
            referral.lapsed = True
        else:
            referral.deadline, referral.lapsed = event.intake_deadline, False

    @apply.register
    def _(self, event: EnrolmentChanged) -> None:
        self.enrolment, self.not_enrolled_reason = event.enrolment, event.not_enrolled_reason

    @apply.register
    def _(self, event: CaseMerged) -> None:
        self.merged_from.add(event.merged_participant_id)
        for moved in event.referrals:
            self.seen.add(moved.referral_id)
            if self.enrolment != "enrolled":
                self.referrals[moved.referral_id] = OpenReferral.merged(moved)

    @apply.register
    def _(self, event: IntakeCompleted) -> None:
        for referral_id in event.referral_ids:
            self.referrals.pop(referral_id, None)
        self.intake_completed_at = event.completed_at
        # Streams recorded before enrolment was: intake enrolled the person, active unless changed later.
        self.enrolment, self.not_enrolled_reason = "enrolled", None
        self.status = self.status or "active"

    @apply.register
    def _(self, event: IntakeDeadlineExtended) -> None:
        for referral_id in event.referral_ids:
            if referral_id in self.referrals:
                self.referrals[referral_id].deadline = event.intake_deadline
                self.referrals[referral_id].lapsed = False

    @apply.register
    def _(self, event: CaseManagerAssigned) -> None:
        self.case_manager_id = event.case_manager_id

    @apply.register(InitialScreeningCompleted)
    @apply.register(ContactLogged)
    def _(self, event: Event) -> None:
        pass

    @apply.register
    def _(self, event: InterventionPlanUpdated) -> None:
        self.plan_version = event.plan_version

    @apply.register
    def _(self, event: ParticipantStatusChanged) -> None:
        self.status = event.status
