"""The site's settings as case management uses them, and the program's load against its capacity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import singledispatchmethod
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casemgmt.domain.errors import InvalidStatus
from divert_contracts.casemgmt import ProgramCapacityChanged
from divert_kernel.aggregate import Aggregate
from divert_kernel.events import Event


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


@dataclass(frozen=True)
class SiteSettings:
    """One jurisdiction's settings, from its newest eligibility policy (or the service's fallbacks)."""

    caseload_cap: int = 25
    caseload_preferred: int = 15
    program_capacity: int = 200
    intake_extension_max_days: int = 30
    intake_extensions_total_max_days: int = 90
    social_contact_intake_target_days: int = 30
    time_zone: str = "America/Los_Angeles"
    policy_version: int | None = None

    @property
    def extension_bounds(self) -> ExtensionBounds:
        return ExtensionBounds(self.intake_extension_max_days, self.intake_extensions_total_max_days)

    def intake_target(self, referred_at: datetime) -> date:
        """A social contact's intake target: the site's number of days after referral, as a local date."""
        try:
            local = referred_at.astimezone(ZoneInfo(self.time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            local = referred_at
        return local.date() + timedelta(days=self.social_contact_intake_target_days)


class ProgramCapacity(Aggregate):
    """The program's load in one jurisdiction, reported whenever it changes."""

    stream_prefix = "capacity"

    def __init__(self, jurisdiction: str, _: str | None = None) -> None:
        super().__init__(jurisdiction, jurisdiction)
        self.active = -1
        self.capacity = -1

    def report(self, active: int, capacity: int, now: datetime) -> None:
        if (active, capacity) != (self.active, self.capacity):
            self._record(ProgramCapacityChanged(active_participants=active, capacity=capacity, changed_at=now))

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"ProgramCapacity cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: ProgramCapacityChanged) -> None:
        self.active, self.capacity = event.active_participants, event.capacity
