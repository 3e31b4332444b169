"""The outbox relay: publish committed events to JetStream, mark them only after the ack."""

from __future__ import annotations

import asyncio
import json
import logging

import sqlalchemy as sa
from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_kernel import bus, envelope
from divert_kernel.eventstore import StoredEvent

log = logging.getLogger("divert.outbox")

_PENDING = sa.text(
    """
    SELECT e.position, e.event_id::text AS event_id, e.stream_id, e.version, e.type, e.schema_version,
           e.jurisdiction, e.data, e.metadata, e.recorded_at
    FROM outbox o JOIN events e ON e.position = o.position
    WHERE o.published_at IS NULL
    ORDER BY o.position
    LIMIT :limit
    """
)
_MARK = sa.text("UPDATE outbox SET published_at = now() WHERE position = ANY(CAST(:positions AS bigint[]))")
# One relay publishes at a time per database, so JetStream receives each service's events in order.
_LEADER = sa.text("SELECT pg_try_advisory_xact_lock(hashtext('divert-outbox-relay'))")


class OutboxRelay:
    """Runs beside the service; `wake()` after a commit makes it publish within `gather` seconds.

    Waiting a few milliseconds after the first wake lets a burst of commits go out as one batch (one
    query, one mark) instead of one relay round per request competing with the requests for the CPU.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        service: str,
        nc: Client,
        *,
        batch: int = 256,
        idle: float = 0.25,
        gather: float = 0.005,
        public_base_url: str = envelope.DEFAULT_PUBLIC_BASE_URL,
    ) -> None:
        self._engine = engine
        self._service = service
        self._js = nc.jetstream()
        self._batch = batch
        self._idle = idle
        self._gather = gather
        self._wake = asyncio.Event()
        self._public_base_url = public_base_url

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await self._ensure_stream()
        while True:
            try:
                published = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox_relay_backing_off", extra={"error": type(exc).__name__})
                published = 0
                await asyncio.sleep(0.5)
            if published < self._batch:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._idle)
                    await asyncio.sleep(self._gather)
                except TimeoutError:
                    pass

    async def _ensure_stream(self) -> None:
        while True:
            try:
                await bus.ensure_stream(self._js, self._service)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox_stream_not_ready", extra={"error": type(exc).__name__})
                await asyncio.sleep(0.5)

    async def publish_pending(self) -> int:
        """Publish one batch; rows are marked published only for events JetStream acknowledged."""
        async with self._engine.connect() as conn, conn.begin():
            if not (await conn.execute(_LEADER)).scalar():
                return 0
            rows = (await conn.execute(_PENDING, {"limit": self._batch})).mappings().all()
            acked: list[int] = []
            try:
                for row in rows:
                    stored = StoredEvent(**row)
                    ce = envelope.to_cloudevent(self._service, stored, self._public_base_url)
                    await self._js.publish(
                        envelope.subject(stored.jurisdiction, self._service, stored.type),
                        json.dumps(ce, separators=(",", ":")).encode(),
                        timeout=5,
                        headers={"Nats-Msg-Id": stored.event_id},
                    )
                    acked.append(stored.position)
            finally:
                if acked:
                    await conn.execute(_MARK, {"positions": acked})
            return len(acked)
