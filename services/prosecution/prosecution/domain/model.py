"""The held charge: opened by an arrest diversion, closed forever by intake."""

from __future__ import annotations

from datetime import date, datetime
from functools import singledispatchmethod

from divert_contracts.prosecution import ChargeHeld, DivertedChargeClosed, HeldChargeFiled
from divert_kernel.aggregate import Aggregate
from divert_kernel.events import Event
from prosecution.domain.errors import ClosedByIntake, DeadlineNotLapsed, NotHeld, OnlyProsecutorFiles


class HeldCharge(Aggregate):
    stream_prefix = "heldcharge"

    status: str
    participant_id: str
    intake_deadline: date

    @classmethod
    def hold(
        cls,
        referral_id: str,
        jurisdiction: str,
        participant_id: str,
        offense_codes: list[str],
        intake_deadline: date,
        now: datetime,
    ) -> HeldCharge:
        charge = cls(referral_id, jurisdiction)
        charge._record(
            ChargeHeld(
                referral_id=referral_id,
                participant_id=participant_id,
                offense_codes=offense_codes,
                intake_deadline=intake_deadline,
                held_at=now,
            )
        )
        return charge

    def close_by_intake(self, now: datetime) -> None:
        if self.status != "held":
            return
        self._record(
            DivertedChargeClosed(
                referral_id=self.id, participant_id=self.participant_id, reason="intake_completed", closed_at=now
            )
        )

    def file(self, now: datetime, *, by_agency_type: str) -> None:
        """File the held charge: only the prosecutor, only after the window lapsed without intake."""
        self.check_not_closed_by_intake()
        self.check_filed_by_prosecutor(by_agency_type)
        self.check_still_held()
        self.check_deadline_lapsed(now)
        self._record(
            HeldChargeFiled(
                referral_id=self.id, participant_id=self.participant_id, meets_filing_standards=True, filed_at=now
            )
        )

    @staticmethod
    def check_filed_by_prosecutor(agency_type: str) -> None:
        if agency_type != "prosecutor":
            raise OnlyProsecutorFiles()

    def check_still_held(self) -> None:
        if self.status != "held":
            raise NotHeld(self.status)

    def check_not_closed_by_intake(self) -> None:
        if self.status == "closed_by_intake":
            raise ClosedByIntake()

    def check_deadline_lapsed(self, now: datetime) -> None:
        if now.date() <= self.intake_deadline:
            raise DeadlineNotLapsed()

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
    def _(self, event: HeldChargeFiled) -> None:
        self.status = "filed"
