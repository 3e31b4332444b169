"""Where a participant stands with case management, and the site's calendar: pure rules, no I/O.

A new diversion of someone already in the program starts no intake clock (DESIGN §3). "In the program" is
enrolled and not exited: an inactive participant is still enrolled (there is no failure status), while an exit
for a Code of Conduct violation ends participation, so a later diversion of that person is a fresh offer with
its own intake window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from divert_contracts.casemgmt import EnrolmentChanged, IntakeCompleted, ParticipantStatusChanged
from divert_kernel.events import Event

FOLLOW_UP_DAYS = 30
FOLLOW_UP_MAX_DAYS = 366


@dataclass(frozen=True)
class Standing:
    """One participant record's standing; `*_at` are case management's recording times of the facts."""

    enrolled: bool = False
    enrolment_at: datetime | None = None
    exited: bool = False
    status_at: datetime | None = None

    def after(self, event: Event, at: datetime) -> Standing:
        """The standing once `event`, recorded at `at`, is taken in. A fact older than the one held changes
        nothing: case management's events may reach us late or retried."""
        if isinstance(event, (EnrolmentChanged, IntakeCompleted)):
            if self.enrolment_at is not None and at < self.enrolment_at:
                return self
            enrolled = isinstance(event, IntakeCompleted) or event.enrolment == "enrolled"
            # An intake recorded after an exit admits the person again.
            readmitted = enrolled and (self.status_at is None or at >= self.status_at)
            return replace(self, enrolled=enrolled, enrolment_at=at, exited=self.exited and not readmitted)
        if isinstance(event, ParticipantStatusChanged):
            if self.status_at is not None and at < self.status_at:
                return self
            return replace(self, exited=event.status == "exited", status_at=at)
        return self

    @property
    def in_program(self) -> bool:
        return self.enrolled and not self.exited


def in_program(standings: Iterable[Standing]) -> bool:
    """One person, whichever of their linked records case management enrolled."""
    return any(s.in_program for s in standings)


def zone_named(name: str | None) -> tzinfo | None:
    """The IANA time zone, or None for a name no tz database knows."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_date(now: datetime, zone: tzinfo | None) -> date:
    """The calendar date at the site: deadlines and follow-ups are local dates, not UTC ones."""
    return now.astimezone(zone or UTC).date()


def default_follow_up(reviewed_on: date) -> date:
    return reviewed_on + timedelta(days=FOLLOW_UP_DAYS)
