"""What enrolment needs from the consent service (toolkit VII.C): a signed ROI naming the provider that holds the
participant. Any category or purpose will do: a person who shares with nobody else can still enrol."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HolderGrant:
    """One consent's grant to the holding provider, as stored."""

    consent_id: str
    state: str  # draft, active, revoked (the whole consent) or expired (on an event)
    effective_at: datetime
    expires_at: datetime
    revoked_at: datetime | None  # this recipient's grant
    created_at: datetime

    def in_force(self, now: datetime) -> bool:
        """Signed, not revoked for this recipient or as a whole, and within its period at `now`."""
        return self.state == "active" and self.revoked_at is None and self.effective_at <= now < self.expires_at


def roi_on_file(grants: Iterable[HolderGrant], now: datetime) -> str | None:
    """The newest ROI in force naming the holder, or None: the enrolment precondition is not met."""
    live = [g for g in grants if g.in_force(now)]
    return max(live, key=lambda g: (g.created_at, g.consent_id)).consent_id if live else None
