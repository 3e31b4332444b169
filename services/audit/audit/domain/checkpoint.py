"""A sealed head of the chain: signed by the audit service's own key, which the database never holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from audit.domain.canonical import instant, jcs


@dataclass(frozen=True)
class SealedHead:
    checkpoint_id: str
    sequence: int
    head_hash: str
    sealed_at: datetime
    key_id: str
    signature: str  # Ed25519 over `signed_document`, base64url without padding

    def signed_document(self) -> bytes:
        return signed_document(self.checkpoint_id, self.sequence, self.head_hash, self.sealed_at, self.key_id)


def signed_document(checkpoint_id: str, sequence: int, head_hash: str, sealed_at: datetime, key_id: str) -> bytes:
    """What the signature covers, re-computable from an `AuditCheckpointSealed` event with any JCS library."""
    return jcs(
        {
            "checkpoint_id": checkpoint_id,
            "sequence": sequence,
            "head_hash": head_hash,
            "sealed_at": instant(sealed_at),
            "key_id": key_id,
        }
    )
