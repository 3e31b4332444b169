"""Instructions the gateway gives itself (its routes proxy the services' commands; its own work is timed)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DispatchDueWebhooks:
    """Attempt every webhook message whose first attempt or retry is due (sent on a schedule)."""
