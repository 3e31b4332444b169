"""Events the audit service publishes."""

from __future__ import annotations

from datetime import datetime

from divert_kernel.events import Event


class AuditCheckpointSealed(Event):
    service = "audit"

    entries: int
    head_hash: str
    sealed_at: datetime
