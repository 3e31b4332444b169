"""Durable JetStream consumers: idempotent, traced, and dead-lettering what keeps failing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from uuid import UUID

import nats.errors
import nats.js.errors
import sqlalchemy as sa
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_kernel import bus, context, dead_letters, envelope, telemetry
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.uow import UnitOfWork

log = logging.getLogger("divert.consumer")

EventHandler = Callable[[UnitOfWork, ReceivedEvent], Awaitable[None]]
ANY_EVENT = "*"
# A message may fail only because one before it (an earlier event of its aggregate, or the event it follows from
# another service) is not applied yet. Replicas share a durable, so that one may be held by a replica that was
# killed; JetStream hands it out again only after ACK_WAIT_SECONDS. The retries of the default MAX_ATTEMPTS
# therefore span longer than that (1.2 + 2.4 + 4.8 + 9.6 + 19.2 = 37 s) before a message is dead-lettered.
ACK_WAIT_SECONDS = 30
MAX_ATTEMPTS = 6
RETRY_BASE_SECONDS = 0.6

_CLAIM = sa.text(
    "INSERT INTO processed_events (consumer, event_id) VALUES (:consumer, CAST(:event_id AS uuid)) "
    "ON CONFLICT DO NOTHING RETURNING 1"
)
_CLAIM_ALL = sa.text(
    "INSERT INTO processed_events (consumer, event_id) SELECT :c, id FROM unnest(CAST(:ids AS uuid[])) AS id "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
# A deadlock or serialization failure can come of a batch holding its locks (advisory ones, rows) for longer.
_BATCH_CONFLICTS = {"40P01", "40001"}
_DEAD_LETTER = sa.text(
    "INSERT INTO dead_letters (consumer, event_id, subject, envelope, error, attempts) "
    "VALUES (:consumer, :event_id, :subject, :envelope, :error, :attempts)"
)


class Consumer:
    """Applies one publishing service's events to this service, each exactly once in effect."""

    def __init__(
        self,
        engine: AsyncEngine,
        nc: Client,
        *,
        subscriber: str,
        source: str,
        handlers: Mapping[str, EventHandler],
        on_commit: Callable[[], None] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._engine = engine
        self._js = nc.jetstream()
        self.subscriber = subscriber
        self.source = source
        self.name = f"{subscriber}-from-{source}"
        self._handlers = handlers
        self._on_commit = on_commit
        self._max_attempts = max_attempts
        self._retries: bool | None = None  # whether the database can hold retry requests; asked once
        self._retry_polled = 0.0

    async def run(self) -> None:
        sub = await self._subscribe()
        idle = 0
        while True:
            await self.retry_requested()
            try:
                messages = await sub.fetch(batch=64, timeout=1)
                idle = 0
            except TimeoutError:
                # nats.errors.TimeoutError, or asyncio's own when a busy server answers the no-wait probe late
                # (nats-py raises the builtin then): either way nothing came, which is idle, not a failure.
                idle += 1
                if idle % 30 == 0 and await self._durable_missing():
                    sub = await self._subscribe()
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer_fetch_failed", extra={"durable": self.name, "error": type(exc).__name__})
                await asyncio.sleep(0.5)
                if await self._durable_missing():
                    sub = await self._subscribe()
                continue
            await self.handle_batch(messages)

    async def _durable_missing(self) -> bool:
        """True when the durable consumer is gone (deleted by an operator, or the stream was rebuilt)."""
        try:
            await self._js.consumer_info(bus.stream_name(self.source), self.name)
            return False
        except nats.js.errors.NotFoundError:
            log.warning("consumer_durable_missing", extra={"durable": self.name})
            return True
        except Exception:
            return False

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        while True:
            try:
                await bus.ensure_stream(self._js, self.source)
                return await self._js.pull_subscribe(
                    bus.stream_subjects(self.source)[0],
                    durable=self.name,
                    stream=bus.stream_name(self.source),
                    config=ConsumerConfig(
                        ack_policy=AckPolicy.EXPLICIT,
                        deliver_policy=DeliverPolicy.ALL,
                        ack_wait=ACK_WAIT_SECONDS,
                        max_deliver=-1,
                    ),
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer_subscribe_failed", extra={"durable": self.name, "error": type(exc).__name__})
                await asyncio.sleep(0.5)

    async def handle_batch(self, messages: list[Msg]) -> None:
        """Apply a fetched batch in one transaction, then ack each message; see `_apply_batch` for a failure."""
        batch: list[tuple[Msg, ReceivedEvent, EventHandler]] = []
        for msg in messages:
            try:
                received = envelope.from_bytes(msg.data)
                handler = self._handlers.get(received.type) or self._handlers.get(ANY_EVENT)
            except Exception:
                handler = None
            if handler is None or len(messages) == 1:
                await self._settle(self.handle(msg))  # unreadable (dead-lettered), unhandled (acked), or alone
            else:
                batch.append((msg, received, handler))
        if batch:
            await self._apply_batch(batch)

    async def _apply_batch(self, batch: list[tuple[Msg, ReceivedEvent, EventHandler]]) -> None:
        """One transaction for the batch: one claim statement, and per message (in order) its causation, span,
        handler and flush, so the events it appends carry its own causation and traceparent; one commit.

        If a handler raises, everything is rolled back: that message is settled with its error as `handle` would
        (retried with backoff, or dead-lettered), without running it again, and every other message of the batch
        goes through `handle` alone (all of them, after a deadlock or serialization failure). Each event is still
        claimed, in effect applied, once.
        """
        failed: int | None = None
        try:
            async with UnitOfWork(self._engine, self.subscriber, self._on_commit) as uow:
                ids = [received.id for _, received, _ in batch]
                claimed = {str(row[0]) for row in await uow.conn.execute(_CLAIM_ALL, {"c": self.name, "ids": ids})}
                for i, (_, received, handler) in enumerate(batch):
                    failed = i
                    key = str(UUID(received.id))
                    if key in claimed:  # else applied before (a redelivery), or earlier in this batch
                        claimed.discard(key)
                        await self._run(uow, handler, received)
                failed = None
                await uow.commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("consumer_batch_rolled_back", extra={"durable": self.name, "error": type(exc).__name__})
            if getattr(getattr(exc, "orig", None), "sqlstate", None) in _BATCH_CONFLICTS:
                failed = None  # the batch's own doing (its locks held longer): no message is to blame
            for i, (msg, received, _) in enumerate(batch):
                await self._settle(self._failed(msg, received, exc) if i == failed else self.handle(msg))
            return
        for msg, _, _ in batch:
            await self._settle(msg.ack())

    async def _settle(self, settling: Awaitable[None]) -> None:
        try:
            await settling
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # e.g. the ack could not be sent while NATS is away: JetStream redelivers, and the
            # processed-event claim makes the second application a no-op.
            log.warning("consumer_settle_failed", extra={"durable": self.name, "error": type(exc).__name__})

    async def handle(self, msg: Msg) -> None:
        """Apply one message; ack after commit, retry with backoff, dead-letter after max attempts."""
        try:
            received = envelope.from_bytes(msg.data)
        except Exception as exc:
            await self._dead_letter(msg, "unreadable envelope", exc)
            return
        handler = self._handlers.get(received.type) or self._handlers.get(ANY_EVENT)
        if handler is None:
            await msg.ack()
            return
        try:
            await self._apply(handler, received)
        except Exception as exc:
            await self._failed(msg, received, exc)
            return
        await msg.ack()

    async def _failed(self, msg: Msg, received: ReceivedEvent, exc: Exception) -> None:
        """Retry with backoff, or dead-letter after max attempts."""
        attempts = msg.metadata.num_delivered or 1
        if attempts >= self._max_attempts:
            await self._dead_letter(msg, received.id, exc)
            return
        extra = {"durable": self.name, "event_type": received.type, "attempt": attempts, "error": type(exc).__name__}
        log.info("consumer_retrying", extra=extra)
        await msg.nak(delay=min(RETRY_BASE_SECONDS * 2**attempts, ACK_WAIT_SECONDS))

    async def _apply(self, handler: EventHandler, received: ReceivedEvent) -> None:
        async with UnitOfWork(self._engine, self.subscriber, self._on_commit) as uow:
            claimed = await uow.conn.execute(_CLAIM, {"consumer": self.name, "event_id": received.id})
            if claimed.first() is not None:
                await self._run(uow, handler, received)
            await uow.commit()

    async def _run(self, uow: UnitOfWork, handler: EventHandler, received: ReceivedEvent) -> None:
        """Keep and apply one claimed event, and append what it caused, under its causation and its span."""
        traceparent = received.envelope.get("traceparent")
        with telemetry.span_from(
            traceparent, f"consume {received.service}.{received.type}", SpanKind.CONSUMER, consumer=self.name
        ):
            context.set_current(context.caused_by(received.id, received.envelope.get("correlationid"), received.actor))
            await uow.consumed(self.name, received)  # kept for rebuilds, and projected
            await handler(uow, received)
            await uow.flush()

    async def retry_requested(self, every: float = 1.0) -> None:
        """Run the dead letters an operator asked to retry (`divert dead-letters retry`), at most once per `every`
        seconds, in this loop: never beside a live message, and through the same handler path."""
        now = time.monotonic()
        if self._retries is False or now - self._retry_polled < every:
            return
        self._retry_polled = now
        try:
            for _ in range(16):  # a bounded batch: live messages wait at most this long
                async with self._engine.begin() as conn:
                    if self._retries is None:
                        self._retries = await dead_letters.retries_supported(conn)
                    claimed = await dead_letters.claim_retry(conn, self.name) if self._retries else None
                if claimed is None:
                    return
                await self._retry(claimed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("dead_letter_retries_not_read", extra={"durable": self.name, "error": type(exc).__name__})

    async def _retry(self, claimed: dead_letters.Claimed) -> None:
        try:
            received = envelope.from_bytes(claimed.envelope.encode())
            handler = self._handlers.get(received.type) or self._handlers.get(ANY_EVENT)
            if handler is not None:
                await self._apply(handler, received)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("dead_letter_retry_failed", extra={"durable": self.name, "error": type(exc).__name__})
            async with self._engine.begin() as conn:
                await dead_letters.failed_again(conn, claimed, exc)
            return
        async with self._engine.begin() as conn:
            await dead_letters.resolved(conn, claimed, self.name)
        log.info("dead_letter_retry_applied", extra={"durable": self.name})

    async def _dead_letter(self, msg: Msg, event_id: str, exc: Exception) -> None:
        # The error names its class and our own message only; events carry no personal data.
        error = dead_letters.error_text(exc)
        log.error("consumer_dead_lettered", extra={"durable": self.name, "error": type(exc).__name__})
        async with self._engine.begin() as conn:
            await conn.execute(
                _DEAD_LETTER,
                {
                    "consumer": self.name,
                    "event_id": event_id,
                    "subject": msg.subject,
                    "envelope": msg.data.decode("utf-8", "replace"),
                    "error": error,
                    "attempts": msg.metadata.num_delivered or 1,
                },
            )
        await msg.ack()
