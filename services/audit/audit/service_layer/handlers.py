"""The audit log's intake: every event of every service, chained in the order received; reads of it too."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import uuid4
from weakref import WeakKeyDictionary

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.adapters import published, store
from audit.adapters.signing import CheckpointKey
from audit.domain import chain
from audit.domain.chain import Verification
from audit.domain.checkpoint import SealedHead, signed_document
from audit.domain.commands import SealAuditCheckpoint
from audit.service_layer.projections import entry_fact, projections
from divert_contracts.audit import AuditCheckpointSealed
from divert_kernel.aggregate import Aggregate
from divert_kernel.bus import PUBLISHING_SERVICES
from divert_kernel.clock import Clock
from divert_kernel.consumer import ANY_EVENT
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.uow import UnitOfWork

log = logging.getLogger("divert.audit")


class Checkpoint(Aggregate):
    """The chain's signed heads, published so a rewrite of the log by anyone with database access shows."""

    stream_prefix = "checkpoint"

    def seal(self, sealed: SealedHead) -> None:
        self._record(
            AuditCheckpointSealed(
                entries=sealed.sequence,
                head_hash=sealed.head_hash,
                sealed_at=sealed.sealed_at,
                checkpoint_id=sealed.checkpoint_id,
                key_id=sealed.key_id,
                signature=sealed.signature,
            )
        )

    def apply(self, event: Any) -> None:
        pass


class Handlers:
    def __init__(self, clock: Clock, key: CheckpointKey) -> None:
        self.clock = clock
        self.key = key
        # The chain's head as each unit of work holds it: a consumer's batch chains its entries one after another.
        self._held: WeakKeyDictionary[UnitOfWork, store.Held] = WeakKeyDictionary()

    def commands(self) -> dict[type, object]:
        return {SealAuditCheckpoint: self.seal}

    def subscriptions(self) -> dict[str, dict[str, object]]:
        return {source: {ANY_EVENT: self.record} for source in PUBLISHING_SERVICES if source != "audit"}

    async def record(self, uow: UnitOfWork, received: ReceivedEvent) -> None:
        """Chain the event, then project the entry as chained (a rebuild replays the chain the same way)."""
        now = self.clock.now()
        entry = chain.entry_from_envelope(received.envelope, now)
        seq = await store.append(uow.conn, received.id, now, entry, self._held.setdefault(uow, store.Held()))
        fact = entry_fact(seq, entry) if seq is not None else None
        if fact is not None:
            await projections.apply(uow.conn, fact)

    async def note_read(
        self, engine: AsyncEngine, resource: str, actor: dict[str, Any], outcome: str, subject: str | None = None
    ) -> None:
        """Chain an entry for a read of the audit log itself, allowed or refused."""
        now = self.clock.now()
        entry_id = str(uuid4())
        entry = chain.read_entry(entry_id, resource, actor, outcome, now, subject)
        try:
            async with engine.begin() as conn:
                await store.append(conn, entry_id, now, entry)
        except store.ChainTampered:
            # The read goes ahead so the auditor sees the damage; operators see this error and the dead letters.
            log.error("audit_log_tampered_beyond_head")

    async def verify(self, engine: AsyncEngine, nc: Client | None) -> tuple[Verification, int | None]:
        """The chain checked against its signed checkpoints and the newest published one (its sequence, if any)."""
        copy = await published.newest_checkpoint(nc)
        if copy is not None and not self.key.verifies(copy.signed_document(), copy.signature, copy.key_id):
            log.warning("audit_checkpoint_signature_unknown")
            copy = None
        return await store.verify(engine, self.key.verifies, copy), copy.sequence if copy else None

    def _sealed(self, seq: int, head_hash: str, now: datetime) -> SealedHead:
        checkpoint_id = str(uuid4())
        document = signed_document(checkpoint_id, seq, head_hash, now, self.key.key_id)
        return SealedHead(checkpoint_id, seq, head_hash, now, self.key.key_id, self.key.sign(document))

    async def seal(self, cmd: SealAuditCheckpoint, uow: UnitOfWork) -> bool:
        """Sign and seal the head if it moved since the last checkpoint; publishes AuditCheckpointSealed.
        Beside other replicas, the checkpoint's stream (named by the sequence) lets one seal a head."""
        seq, head_hash = await store.head(uow.conn)
        if seq == 0 or seq == await store.last_checkpoint(uow.conn):
            return False
        sealed = self._sealed(seq, head_hash, self.clock.now())
        checkpoint = Checkpoint(f"{seq}", "all")
        checkpoint.seal(sealed)
        uow.add(checkpoint)
        await store.add_checkpoint(uow.conn, sealed)
        return True
