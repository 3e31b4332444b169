"""The newest checkpoint as published on the bus: a copy of the seal kept outside the audit database."""

from __future__ import annotations

import asyncio
import logging

import nats.errors
from nats.aio.client import Client

from audit.domain.checkpoint import SealedHead
from divert_contracts.audit import AuditCheckpointSealed
from divert_kernel import bus, envelope

log = logging.getLogger("divert.audit")
SUBJECT = envelope.subject("all", "audit", AuditCheckpointSealed.type_name())


async def newest_checkpoint(nc: Client | None, timeout: float = 2.0) -> SealedHead | None:
    """The last signed checkpoint in the audit stream, or None (none yet, or the bus does not answer)."""
    if nc is None or not nc.is_connected:
        return None
    try:
        message = await asyncio.wait_for(nc.jetstream().get_last_msg(bus.stream_name("audit"), SUBJECT), timeout)
        event = envelope.from_bytes(message.data or b"").event
    except (nats.errors.Error, TimeoutError, ValueError, KeyError) as exc:
        log.info("audit_published_checkpoint_missing", extra={"error": type(exc).__name__})
        return None
    if not isinstance(event, AuditCheckpointSealed) or None in (event.checkpoint_id, event.key_id, event.signature):
        return None
    return SealedHead(
        str(event.checkpoint_id),
        event.entries,
        event.head_hash,
        event.sealed_at,
        str(event.key_id),
        str(event.signature),
    )
