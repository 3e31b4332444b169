"""The participant's case: referrals received, intake, and status. There is no failure status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import singledispatchmethod

from casemgmt.domain.errors import CaseloadFull, IntakeAlreadyCompleted, InvalidStatus
from divert_contracts.casemgmt import (
    CaseManagerAssigned,
    CaseOpened,
    ContactLogged,
    InitialScreeningCompleted,
    IntakeCompleted,
    IntakeDeadlineExtended,
    InterventionPlanUpdated,
    ParticipantStatusChanged,
    ProgramCapacityChanged,
)
from divert_kernel.aggregate import Aggregate
from divert_kernel.events import Event

STATUSES = ("active", "inactive", "exited")
# The toolkit's "no failure" rule: these words describe other programs, never a LEAD participant.
REFUSED_STATUSES = {
    "failed": "LEAD has no failure status: a participant is active or inactive",
    "terminated": "participants are never terminated for non-compliance; the only exit is a Code of Conduct violation",
    "graduated": "LEAD is long-term case management with no graduation; use active or inactive",
    "noncompliant": "non-compliance has no consequence in LEAD; use active or inactive",
}


@dataclass(frozen=True)
class ExtensionBounds:
    """The site's limits on intake extensions: days per extension, and days in all past the original deadline."""

    per_extension_days: int = 30
    total_days: int = 90

    def check(self, current: date, original: date, new_deadline: date) -> None:
        # Differences of dates only: adding days to a far-future date could overflow.
        if (new_deadline - current).days > self.per_extension_days:
            raise InvalidStatus(
                f"one extension adds at most {self.per_extension_days} days to the current deadline",
                field="intake_deadline",
            )
        if (new_deadline - original).days > self.total_days:
            raise InvalidStatus(
                f"extensions add at most {self.total_days} days in all to the original deadline {original.isoformat()}",
                field="intake_deadline",
            )


class ParticipantCase(Aggregate):
    stream_prefix = "participant"

    def __init__(self, participant_id: str, jurisdiction: str) -> None:
        super().__init__(participant_id, jurisdiction)
        self.status = "active"
        self.pending_referrals: dict[str, date | None] = {}
        self.original_deadlines: dict[str, date | None] = {}
        self.intake_completed_at: datetime | None = None
        self.case_manager_id: str | None = None
        self.plan_version = 0

    def receive_referral(self, referral_id: str, referral_type: str, intake_deadline: date | None) -> None:
        if referral_id in self.pending_referrals:
            return
        self._record(
            CaseOpened(
                participant_id=self.id,
                referral_id=referral_id,
                referral_type=referral_type,
                intake_deadline=intake_deadline,
            )
        )

    def complete_intake(self, completed_at: datetime, now: datetime) -> None:
        if completed_at > now:
            raise InvalidStatus("intake cannot be completed in the future", field="completed_at")
        if not self.pending_referrals:
            raise IntakeAlreadyCompleted()
        self._record(
            IntakeCompleted(
                participant_id=self.id, referral_ids=sorted(self.pending_referrals), completed_at=completed_at
            )
        )

    def change_status(self, status: str, reason: str, now: datetime) -> None:
        if status in REFUSED_STATUSES:
            raise InvalidStatus(REFUSED_STATUSES[status], field="status")
        if status not in STATUSES:
            raise InvalidStatus(f"status must be one of {', '.join(STATUSES)}", field="status")
        if status == "exited" and reason != "code_of_conduct":
            raise InvalidStatus(
                "the only exit is a Code of Conduct violation: reason 'code_of_conduct'", field="reason"
            )
        self._record(ParticipantStatusChanged(participant_id=self.id, status=status, reason=reason, changed_at=now))  # type: ignore[arg-type]

    def extend_intake(
        self, new_deadline: date, granted_by: str, law_enforcement_agency: str, now: datetime, bounds: ExtensionBounds
    ) -> None:
        """Move every pending deadline to `new_deadline`: later than now, within the site's bounds."""
        current = self.intake_deadline
        if current is None:
            raise InvalidStatus("no intake deadline is pending for this participant", field="participant_id")
        if new_deadline <= current:
            raise InvalidStatus(
                f"an extension moves the deadline later than {current.isoformat()}", field="intake_deadline"
            )
        bounds.check(current, self.original_deadline or current, new_deadline)
        self._record(
            IntakeDeadlineExtended(
                participant_id=self.id,
                referral_ids=sorted(r for r, d in self.pending_referrals.items() if d is not None),
                intake_deadline=new_deadline,
                granted_by=granted_by,
                law_enforcement_agency=law_enforcement_agency,
                extended_at=now,
            )
        )

    def assign(self, case_manager_id: str, caseload: int, cap: int, now: datetime) -> None:
        """Assign a case manager whose active caseload is below the site's cap."""
        if case_manager_id == self.case_manager_id:
            return
        if caseload >= cap:
            raise CaseloadFull(case_manager_id, caseload, cap)
        self._record(CaseManagerAssigned(participant_id=self.id, case_manager_id=case_manager_id, assigned_at=now))

    def complete_screening(self, screened_by: str, completed_at: datetime, now: datetime) -> None:
        if completed_at > now:
            raise InvalidStatus("a screening is recorded once it happened", field="screened_at")
        self._record(
            InitialScreeningCompleted(participant_id=self.id, screened_by=screened_by, completed_at=completed_at)
        )

    def update_plan(self, goal_count: int, now: datetime) -> int:
        if goal_count < 1:
            raise InvalidStatus("a plan has at least one participant-identified goal", field="goals")
        self._record(
            InterventionPlanUpdated(
                participant_id=self.id, plan_version=self.plan_version + 1, goal_count=goal_count, updated_at=now
            )
        )
        return self.plan_version

    def log_contact(self, contact_id: str, kind: str, occurred_on: date, now: datetime) -> None:
        if occurred_on > now.date():
            raise InvalidStatus("a contact is logged once it happened", field="occurred_on")
        self._record(ContactLogged(participant_id=self.id, contact_id=contact_id, kind=kind, occurred_on=occurred_on))  # type: ignore[arg-type]

    @property
    def intake_deadline(self) -> date | None:
        deadlines = [d for d in self.pending_referrals.values() if d is not None]
        return min(deadlines) if deadlines else None

    @property
    def original_deadline(self) -> date | None:
        """The earliest pending deadline as the referral set it, before any extension."""
        deadlines = [d for r, d in self.original_deadlines.items() if r in self.pending_referrals and d is not None]
        return min(deadlines) if deadlines else None

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"ParticipantCase cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: CaseOpened) -> None:
        self.pending_referrals[event.referral_id] = event.intake_deadline
        self.original_deadlines[event.referral_id] = event.intake_deadline

    @apply.register
    def _(self, event: IntakeCompleted) -> None:
        for referral_id in event.referral_ids:
            self.pending_referrals.pop(referral_id, None)
        self.intake_completed_at = event.completed_at

    @apply.register
    def _(self, event: IntakeDeadlineExtended) -> None:
        for referral_id in event.referral_ids:
            self.pending_referrals[referral_id] = event.intake_deadline

    @apply.register
    def _(self, event: CaseManagerAssigned) -> None:
        self.case_manager_id = event.case_manager_id

    @apply.register
    def _(self, event: InitialScreeningCompleted) -> None:
        pass

    @apply.register
    def _(self, event: InterventionPlanUpdated) -> None:
        self.plan_version = event.plan_version

    @apply.register
    def _(self, event: ContactLogged) -> None:
        pass

    @apply.register
    def _(self, event: ParticipantStatusChanged) -> None:
        self.status = event.status


class ProgramCapacity(Aggregate):
    """The program's load in one jurisdiction, reported whenever it changes."""

    stream_prefix = "capacity"

    def __init__(self, jurisdiction: str, _: str | None = None) -> None:
        super().__init__(jurisdiction, jurisdiction)
        self.active = -1

    def report(self, active: int, capacity: int, now: datetime) -> None:
        if active != self.active:
            self._record(ProgramCapacityChanged(active_participants=active, capacity=capacity, changed_at=now))

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"ProgramCapacity cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: ProgramCapacityChanged) -> None:
        self.active = event.active_participants
