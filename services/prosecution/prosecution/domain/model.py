"""The held charge (opened by an arrest diversion, closed forever by intake) and the participant's other cases."""

from __future__ import annotations

from datetime import date, datetime
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
    CourtDateInPast,
    DeadlineNotLapsed,
    NeverInAbeyance,
    NotHeld,
    OnlyProsecutorDecides,
)


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
        if self.status not in ("held", "lapsed"):
            return
        self._record(
            DivertedChargeClosed(
                referral_id=self.id, participant_id=self.participant_id, reason="intake_completed", closed_at=now
            )
        )

    def extend(self, new_deadline: date, now: datetime) -> None:
        """Move the deadline (an OWG extension); a lapsed charge not yet decided is held again."""
        if self.status not in ("held", "lapsed") or new_deadline == self.intake_deadline:
            return
        self._record(
            HeldChargeDeadlineMoved(
                referral_id=self.id, participant_id=self.participant_id, intake_deadline=new_deadline, moved_at=now
            )
        )

    def return_to_ordinary_processing(self, now: datetime) -> None:
        if self.status not in ("held", "lapsed"):
            return
        self._record(HeldChargeReturned(referral_id=self.id, participant_id=self.participant_id, returned_at=now))

    def lapse_if_due(self, now: datetime) -> bool:
        if self.status != "held" or now.date() <= self.intake_deadline:
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
        self.status = "closed_by_intake"

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
                charge_codes=[c.code for c in cmd.charges],
                filed_at=cmd.filed_at,
                registered_at=now,
            )
        )
        return case

    def review(self, decision: str, now: datetime) -> None:
        self._record(
            LegacyCaseReviewed(
                case_id=self.id,
                participant_id=self.participant_id,
                decision=decision,
                reviewed_at=now,  # type: ignore[arg-type]
            )
        )

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
