"""The audit log's intake: every event of every service, chained in the order received; reads of it too."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import uuid4

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.adapters import store
from audit.domain import chain
from divert_contracts.audit import AuditCheckpointSealed
from divert_kernel.aggregate import Aggregate
from divert_kernel.bus import PUBLISHING_SERVICES
from divert_kernel.clock import Clock
from divert_kernel.consumer import ANY_EVENT
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.errors import ConcurrencyError
from divert_kernel.uow import UnitOfWork

log = logging.getLogger("divert.audit")
DECISION_TYPE = "org.divert.consent.AccessDecided.v1"


class Checkpoint(Aggregate):
    """The chain's sealed heads, published so a rewrite of the log by anyone with database access shows."""

    stream_prefix = "checkpoint"

    def seal(self, entries: int, head_hash: str, now: Any) -> None:
        self._record(AuditCheckpointSealed(entries=entries, head_hash=head_hash, sealed_at=now))

    def apply(self, event: Any) -> None:
        pass


class Handlers:
    def __init__(self, clock: Clock, checkpoint_seconds: float = 60.0) -> None:
        self.clock = clock
        self.checkpoint_seconds = checkpoint_seconds

    def subscriptions(self) -> dict[str, dict[str, object]]:
        return {source: {ANY_EVENT: self.record} for source in PUBLISHING_SERVICES if source != "audit"}

    async def record(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        now = self.clock.now()
        entry = chain.entry_from_envelope(received.envelope, now.isoformat(timespec="milliseconds"))
        await store.append(uow.conn, received.id, now, entry, chain.link)
        if received.envelope["type"] == DECISION_TYPE and "what_if" not in (
            received.envelope["data"].get("flags") or []
        ):
            await store.add_disclosure(uow.conn, received.envelope["data"], received.jurisdiction)

    async def note_read(
        self, engine: AsyncEngine, resource: str, actor: dict[str, Any], outcome: str, subject: str | None = None
    ) -> None:
        """Chain an entry for a read of the audit log itself, allowed or refused."""
        now = self.clock.now()
        entry_id = str(uuid4())
        entry = chain.read_entry(entry_id, resource, actor, outcome, now.isoformat(timespec="milliseconds"), subject)
        try:
            async with engine.begin() as conn:
                await store.append(conn, entry_id, now, entry, chain.link)
        except store.ChainTampered:
            # The read goes ahead so the auditor sees the damage; operators see this error and the dead letters.
            log.error("audit log tampered beyond its head; a read of the log could not be chained")

    async def seal(self, uow: UnitOfWork) -> bool:
        """Seal the head if it moved since the last checkpoint; publishes AuditCheckpointSealed."""
        seq, head_hash = await store.head(uow.conn)
        if seq == 0 or seq == await store.last_checkpoint(uow.conn):
            return False
        now = self.clock.now()
        checkpoint = Checkpoint(f"{seq}", "all")
        checkpoint.seal(seq, head_hash, now)
        uow.add(checkpoint)
        await store.add_checkpoint(uow.conn, seq, head_hash, now)
        return True

    async def seal_periodically(self, app: FastAPI) -> None:
        while True:
            await asyncio.sleep(self.checkpoint_seconds)
            try:
                async with app.state.bus.uow() as uow:
                    if await self.seal(uow):
                        await uow.commit()
            except ConcurrencyError:
                pass  # another replica sealed this head first
