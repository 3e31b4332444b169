"""Unit of work: one transaction for appended events, their outbox rows and the read models projected from them."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from divert_kernel import context, eventstore, projection, telemetry
from divert_kernel.aggregate import Aggregate
from divert_kernel.envelope import ReceivedEvent

A = TypeVar("A", bound=Aggregate)


class UnitOfWork:
    """Handlers read, decide and record; only `commit` makes anything durable."""

    def __init__(self, engine: AsyncEngine, service: str, on_commit: Callable[[], None] | None = None) -> None:
        self._engine = engine
        self.service = service
        self._on_commit = on_commit  # told after a commit that appended events (the outbox relay's wake)
        self._appended = False
        self._seen: list[Aggregate] = []
        self._committed = False
        self._closed = False
        self.conn: AsyncConnection

    async def __aenter__(self) -> UnitOfWork:
        self.conn = await self._engine.connect()
        await self.conn.begin()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Roll back whatever was not committed and give the connection back (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self._committed:
                await self.conn.rollback()
        finally:
            await self.conn.close()

    async def get(self, cls: type[A], aggregate_id: str) -> A | None:
        """Rebuild an aggregate from its stream, or None if it has no events. An aggregate this unit of work
        already holds is returned as it is, with what it recorded: read models are projected only on flush, so
        a handler that finds the same id again through a read model must not decide on a stale copy."""
        stream_id = f"{cls.stream_prefix}-{aggregate_id}"
        for seen in self._seen:
            if isinstance(seen, cls) and seen.stream_id == stream_id:
                return seen
        jurisdiction, history = await eventstore.load(self.conn, self.service, stream_id)
        if jurisdiction is None:
            return None
        aggregate = cls.replay(aggregate_id, jurisdiction, history)
        self._seen.append(aggregate)
        return aggregate  # type: ignore[return-value]

    def add(self, aggregate: Aggregate) -> None:
        """Track a new aggregate so its recorded events are appended on commit."""
        self._seen.append(aggregate)

    async def commit(self) -> None:
        await self.flush()
        await self.conn.commit()
        self._committed = True
        # Only a commit that appended has anything for the relay: waking it for the rest (most consumed events)
        # cost a relay round (lock, query, commit) each. A missed wake is still caught by the relay's idle poll.
        if self._appended and self._on_commit is not None:
            self._appended = False
            self._on_commit()

    async def consumed(self, consumer: str, received: ReceivedEvent) -> None:
        """Keep a foreign event this service takes in, and project it, before its handler runs."""
        await projection.consumed(self.conn, self.service, consumer, received)

    async def flush(self) -> None:
        """Append the recorded events (a lost optimistic race raises here) and project them, without committing."""
        causation = context.current()
        traceparent = telemetry.current_traceparent()
        projections = projection.of(self.service)
        facts: list[projection.Fact] = []
        for aggregate in self._seen:
            if aggregate.pending:
                rows = await eventstore.append(
                    self.conn,
                    stream_id=aggregate.stream_id,
                    jurisdiction=aggregate.jurisdiction,
                    expected_version=aggregate.committed_version,
                    events=aggregate.pending,
                    causation=causation,
                    traceparent=traceparent,
                )
                self._appended = True
                events, aggregate.pending = aggregate.pending, []
                if projections is not None:
                    facts.extend(
                        projection.own_fact(
                            self.service, event, aggregate.jurisdiction, aggregate.stream_id, row, causation.actor
                        )
                        for event, row in zip(events, rows, strict=True)
                    )
        if projections is not None and facts:
            # All of one flush at once, in the order appended: a batch projector writes a run in one statement.
            await projections.apply_all(self.conn, facts)
