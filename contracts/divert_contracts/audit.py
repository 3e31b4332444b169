"""Events the audit service publishes."""

from __future__ import annotations

from datetime import datetime

from divert_kernel.events import Event


class AuditCheckpointSealed(Event):
    """A signed head of the audit chain; any earlier copy of it exposes a later rewrite of the log.

    `signature` is Ed25519 (base64url, no padding) by the audit service's key `key_id` (its RFC 7638 thumbprint,
    published at `GET /v1/audit/checkpoint-key`) over the RFC 8785 canonical JSON of `{"checkpoint_id",
    "sequence": entries, "head_hash", "sealed_at": RFC 3339 UTC with six fractional digits and "Z", "key_id"}`.
    No personal data: ids, a sequence number, a hash and a time.
    """

    service = "audit"

    # The sequence number of the sealed head (the chain is gapless from 1, so also its number of entries).
    entries: int
    head_hash: str
    sealed_at: datetime
    # None only in checkpoints sealed before they were signed.
    checkpoint_id: str | None = None
    key_id: str | None = None
    signature: str | None = None
