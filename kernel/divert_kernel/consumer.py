"""Durable JetStream consumers: idempotent, traced, and dead-lettering what keeps failing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

import nats.errors
import nats.js.errors
import sqlalchemy as sa
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_kernel import bus, context, envelope, telemetry
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.uow import UnitOfWork

log = logging.getLogger("divert.consumer")

EventHandler = Callable[[UnitOfWork, ReceivedEvent], Awaitable[None]]
ANY_EVENT = "*"

_CLAIM = sa.text(
    "INSERT INTO processed_events (consumer, event_id) VALUES (:consumer, CAST(:event_id AS uuid)) "
    "ON CONFLICT DO NOTHING RETURNING 1"
)
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
        max_attempts: int = 5,
    ) -> None:
        self._engine = engine
        self._js = nc.jetstream()
        self.subscriber = subscriber
        self.source = source
        self.name = f"{subscriber}-from-{source}"
        self._handlers = handlers
        self._on_commit = on_commit
        self._max_attempts = max_attempts

    async def run(self) -> None:
        sub = await self._subscribe()
        idle = 0
        while True:
            try:
                messages = await sub.fetch(batch=64, timeout=1)
                idle = 0
            except nats.errors.TimeoutError:
                idle += 1
                if idle % 30 == 0 and await self._durable_missing():
                    sub = await self._subscribe()
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s fetch failed: %s", self.name, type(exc).__name__)
                await asyncio.sleep(0.5)
                if await self._durable_missing():
                    sub = await self._subscribe()
                continue
            for msg in messages:
                try:
                    await self.handle(msg)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # e.g. the ack could not be sent while NATS is away: JetStream redelivers, and the
                    # processed-event claim makes the second application a no-op.
                    log.warning("%s could not settle a message: %s", self.name, type(exc).__name__)

    async def _durable_missing(self) -> bool:
        """True when the durable consumer is gone (deleted by an operator, or the stream was rebuilt)."""
        try:
            await self._js.consumer_info(bus.stream_name(self.source), self.name)
            return False
        except nats.js.errors.NotFoundError:
            log.warning("%s durable consumer is missing; re-creating it (redelivery is idempotent)", self.name)
            return True
        except Exception:
            return False

    async def _subscribe(self):  # type: ignore[no-untyped-def]
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
                        ack_wait=30,
                        max_deliver=-1,
                    ),
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s cannot subscribe yet: %s", self.name, type(exc).__name__)
                await asyncio.sleep(0.5)

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
            attempts = msg.metadata.num_delivered or 1
            if attempts >= self._max_attempts:
                await self._dead_letter(msg, received.id, exc)
            else:
                log.info("%s will retry %s (attempt %d): %s", self.name, received.type, attempts, type(exc).__name__)
                await msg.nak(delay=min(0.2 * 2**attempts, 30))
            return
        await msg.ack()

    async def _apply(self, handler: EventHandler, received: ReceivedEvent) -> None:
        traceparent = received.envelope.get("traceparent")
        with telemetry.span_from(
            traceparent, f"consume {received.service}.{received.type}", SpanKind.CONSUMER, consumer=self.name
        ):
            context.set_current(context.caused_by(received.id, received.envelope.get("correlationid"), received.actor))
            async with UnitOfWork(self._engine, self.subscriber, self._on_commit) as uow:
                claimed = await uow.conn.execute(_CLAIM, {"consumer": self.name, "event_id": received.id})
                if claimed.first() is not None:
                    await uow.consumed(self.name, received)  # kept for rebuilds, and projected
                    await handler(uow, received)
                await uow.commit()

    async def _dead_letter(self, msg: Msg, event_id: str, exc: Exception) -> None:
        # The error names its class and our own message only; events carry no personal data.
        error = f"{type(exc).__name__}: {exc}"[:1000]
        log.error("%s dead-lettered an event: %s", self.name, type(exc).__name__)
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
