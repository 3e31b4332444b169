"""The held charge (opened by an arrest diversion, closed forever by intake) and the participant's other cases."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from functools import singledispatchmethod

from divert_contracts.prosecution import (
    ChargeHeld,
    CourtDateScheduled,
    DivertedChargeClosed,
    HeldChargeDeadlineMoved,
    HeldChargeFiled,
    HeldChargeNotFiled,
    HeldChargeReturned,
    IntakeDeadlineLapsed,
    LegacyCaseRegistered,
    LegacyCaseReviewed,
)
from divert_kernel.aggregate import Aggregate
from divert_kernel.events import Event
from prosecution.domain import commands
from prosecution.domain.errors import (
    CannotReopen,
    ClosedByIntake,
    ClosedParticipantEnrolled,
    CourtDateInPast,
    DeadlineNotLapsed,
    FollowUpNotAhead,
    FollowUpOnlyWhenMonitoring,
    NeverInAbeyance,
    NotHeld,
    OnlyProsecutorDecides,
)
from prosecution.domain.standing import FOLLOW_UP_MAX_DAYS, default_follow_up, local_date

# Closed for good: non-coercion forbids filing, abeyance and re-opening for ever after.
CLOSED_FOR_GOOD = {"intake_completed": "closed_by_intake", "participant_enrolled": "closed_participant_enrolled"}
UNDECIDED = ("held", "lapsed")


class HeldCharge(Aggregate):
    stream_prefix = "heldcharge"

    status: str
    participant_id: str
    intake_deadline: date

    @classmethod
    def hold(cls, offer: ChargeHeld, jurisdiction: str) -> HeldCharge:
        charge = cls(offer.referral_id, jurisdiction)
        charge._record(offer)
        return charge

    def close_by_intake(self, now: datetime) -> None:
        """Intake closes the charge, also after a lapse while the prosecutor has not decided: a late intake wins."""
        self._close("intake_completed", now)

    def close_as_enrolled(self, now: datetime) -> None:
        """The participant is already in the program: no new intake clock, the charge closes at once."""
        self._close("participant_enrolled", now)

    def _close(self, reason: str, now: datetime) -> None:
        if self.status not in UNDECIDED:
            return
        self._record(
            DivertedChargeClosed(
                referral_id=self.id,
                participant_id=self.participant_id,
                reason=reason,  # type: ignore[arg-type]
                closed_at=now,
            )
        )

    def extend(self, new_deadline: date, now: datetime) -> None:
        """Move the deadline (an OWG extension); a lapsed charge not yet decided is held again."""
        if self.status not in UNDECIDED or new_deadline == self.intake_deadline:
            return
        self._record(
            HeldChargeDeadlineMoved(
                referral_id=self.id, participant_id=self.participant_id, intake_deadline=new_deadline, moved_at=now
            )
        )

    def return_to_ordinary_processing(self, now: datetime) -> None:
        if self.status not in UNDECIDED:
            return
        self._record(HeldChargeReturned(referral_id=self.id, participant_id=self.participant_id, returned_at=now))

    def lapse_if_due(self, now: datetime, zone: tzinfo | None) -> bool:
        """Lapse once the deadline date has passed at the site: at local midnight, not UTC's."""
        if self.status != "held" or local_date(now, zone) <= self.intake_deadline:
            return False
        self._record(
            IntakeDeadlineLapsed(
                referral_id=self.id,
                participant_id=self.participant_id,
                intake_deadline=self.intake_deadline,
                lapsed_at=now,
            )
        )
        return True

    def decide(self, now: datetime, *, by_agency_type: str, file: bool) -> None:
        """File or decline to file: only the prosecutor, only after the window lapsed without intake."""
        self.check_not_closed_by_intake()
        self.check_decided_by_prosecutor(by_agency_type)
        self.check_lapsed()
        if file:
            self._record(
                HeldChargeFiled(
                    referral_id=self.id, participant_id=self.participant_id, meets_filing_standards=True, filed_at=now
                )
            )
        else:
            self._record(HeldChargeNotFiled(referral_id=self.id, participant_id=self.participant_id, decided_at=now))

    def hold_in_abeyance(self) -> None:
        self.check_not_closed_by_intake()
        raise NeverInAbeyance()

    def reopen(self) -> None:
        raise CannotReopen(self.status)

    @staticmethod
    def check_decided_by_prosecutor(agency_type: str) -> None:
        if agency_type != "prosecutor":
            raise OnlyProsecutorDecides()

    def check_not_closed_by_intake(self) -> None:
        if self.status == "closed_by_intake":
            raise ClosedByIntake()
        if self.status == "closed_participant_enrolled":
            raise ClosedParticipantEnrolled()

    def check_lapsed(self) -> None:
        if self.status == "held":
            raise DeadlineNotLapsed(self.intake_deadline)
        if self.status != "lapsed":
            raise NotHeld(self.status)

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"HeldCharge cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: ChargeHeld) -> None:
        self.status = "held"
        self.participant_id = event.participant_id
        self.intake_deadline = event.intake_deadline

    @apply.register
    def _(self, event: DivertedChargeClosed) -> None:
        self.status = CLOSED_FOR_GOOD[event.reason]

    @apply.register
    def _(self, event: HeldChargeDeadlineMoved) -> None:
        self.intake_deadline = event.intake_deadline
        self.status = "held"

    @apply.register
    def _(self, event: IntakeDeadlineLapsed) -> None:
        self.status = "lapsed"

    @apply.register
    def _(self, event: HeldChargeReturned) -> None:
        self.status = "returned_to_ordinary_processing"

    @apply.register
    def _(self, event: HeldChargeFiled) -> None:
        self.status = "filed"

    @apply.register
    def _(self, event: HeldChargeNotFiled) -> None:
        self.status = "not_filed"


class ProsecutionCase(Aggregate):
    """A participant's legacy case or post-diversion arrest, coordinated with the intervention plan."""

    stream_prefix = "case"

    participant_id: str
    reviews: int

    @classmethod
    def register(cls, case_id: str, cmd: commands.RegisterCase, now: datetime) -> ProsecutionCase:
        case = cls(case_id, cmd.jurisdiction)
        case._record(
            LegacyCaseRegistered(
                case_id=case_id,
                participant_id=cmd.participant_id,
                kind=cmd.kind,  # type: ignore[arg-type]
                docket_number=cmd.docket_number,
                court=cmd.court,
                offense_codes=[c.code for c in cmd.charges],
                filed_at=cmd.filed_at,
                registered_at=now,
                agency=cmd.agency,
            )
        )
        return case

    def review(self, decision: str, now: datetime, *, today: date, follow_up_on: date | None = None) -> date | None:
        """Record a review; `continue_to_monitor` comes back on `follow_up_on` (default: 30 days on, local)."""
        if decision == "continue_to_monitor":
            follow_up_on = follow_up_on or default_follow_up(today)
            self.check_follow_up_ahead(follow_up_on, today)
        elif follow_up_on is not None:
            raise FollowUpOnlyWhenMonitoring()
        self._record(
            LegacyCaseReviewed(
                case_id=self.id,
                participant_id=self.participant_id,
                decision=decision,  # type: ignore[arg-type]
                reviewed_at=now,
                follow_up_on=follow_up_on,
            )
        )
        return follow_up_on

    @staticmethod
    def check_follow_up_ahead(follow_up_on: date, today: date) -> None:
        if not today < follow_up_on <= today + timedelta(days=FOLLOW_UP_MAX_DAYS):
            raise FollowUpNotAhead(FOLLOW_UP_MAX_DAYS)

    def schedule(self, court_date_id: str, scheduled_for: datetime, hearing: str, now: datetime) -> None:
        if scheduled_for <= now:
            raise CourtDateInPast()
        self._record(
            CourtDateScheduled(
                court_date_id=court_date_id,
                case_id=self.id,
                participant_id=self.participant_id,
                scheduled_for=scheduled_for,
                hearing=hearing,
                scheduled_at=now,
            )
        )

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"ProsecutionCase cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: LegacyCaseRegistered) -> None:
        self.participant_id = event.participant_id
        self.reviews = 0

    @apply.register
    def _(self, event: LegacyCaseReviewed) -> None:
        self.reviews += 1

    @apply.register
    def _(self, event: CourtDateScheduled) -> None:
        pass
