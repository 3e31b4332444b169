"""Instructions the audit service accepts (none from outside: the audit log is written from events)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SealAuditCheckpoint:
    """Sign and publish the chain's head if it moved since the last checkpoint (sent on a schedule)."""
