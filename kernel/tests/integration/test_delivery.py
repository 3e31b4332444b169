"""The kernel's delivery guarantees on real PostgreSQL and real JetStream (DESIGN §6)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import singledispatchmethod
from uuid import uuid4

import nats
import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_devstack.postgres import PostgresServer, ensure_databases
from divert_devstack.testing import eventually
from divert_kernel import bus
from divert_kernel.aggregate import Aggregate
from divert_kernel.consumer import Consumer
from divert_kernel.db import create_kernel_tables, make_engine
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.errors import ConcurrencyError
from divert_kernel.events import Event
from divert_kernel.outbox import OutboxRelay
from divert_kernel.uow import UnitOfWork

SERVICE = "kerneltest"


class Counted(Event):
    service = SERVICE
    counter_id: str
    n: int


class Counter(Aggregate):
    stream_prefix = "counter"

    def __init__(self, counter_id: str, jurisdiction: str) -> None:
        super().__init__(counter_id, jurisdiction)
        self.n = 0

    def count(self) -> None:
        self._record(Counted(counter_id=self.id, n=self.n + 1))

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(type(event).__name__)

    @apply.register
    def _(self, event: Counted) -> None:
        self.n = event.n


def _kernel_tables(sync_conn) -> None:  # type: ignore[no-untyped-def]
    create_kernel_tables(Operations(MigrationContext.configure(sync_conn)))
    sync_conn.execute(sa.text("CREATE TABLE effects (event_id uuid NOT NULL, n int NOT NULL)"))


@pytest.fixture(scope="module")
async def engine(postgres: PostgresServer) -> AsyncIterator[AsyncEngine]:
    name = f"kernel_{uuid4().hex[:10]}"
    await ensure_databases(postgres.url("postgres", driver="postgresql"), [name])
    engine = make_engine(postgres.url(name))
    async with engine.begin() as conn:
        await conn.run_sync(_kernel_tables)
    yield engine
    await engine.dispose()


async def _count(engine: AsyncEngine, counter_id: str, times: int = 1) -> None:
    for _ in range(times):
        async with UnitOfWork(engine, SERVICE) as uow:
            counter = await uow.get(Counter, counter_id) or Counter(counter_id, "seattle-king-county")
            uow.add(counter)
            counter.count()
            await uow.commit()


class TestEventStore:
    async def test_an_aggregate_is_rebuilt_from_its_events(self, engine: AsyncEngine) -> None:
        await _count(engine, "a", times=3)
        async with UnitOfWork(engine, SERVICE) as uow:
            counter = await uow.get(Counter, "a")
        assert counter is not None and counter.n == 3 and counter.version == 3

    async def test_a_concurrent_append_becomes_a_concurrency_error(self, engine: AsyncEngine) -> None:
        await _count(engine, "race")
        first, second = UnitOfWork(engine, SERVICE), UnitOfWork(engine, SERVICE)
        async with first, second:
            mine, theirs = await first.get(Counter, "race"), await second.get(Counter, "race")
            assert mine is not None and theirs is not None
            mine.count()
            theirs.count()
            results = await asyncio.gather(first.commit(), second.commit(), return_exceptions=True)
        assert sorted(type(r).__name__ for r in results) == ["ConcurrencyError", "NoneType"]
        async with UnitOfWork(engine, SERVICE) as uow:
            counter = await uow.get(Counter, "race")
        assert counter is not None and counter.n == 2

    async def test_many_writers_on_one_stream_lose_nothing(self, engine: AsyncEngine) -> None:
        async def count_with_retry() -> None:
            while True:
                try:
                    await _count(engine, "busy")
                    return
                except ConcurrencyError:
                    await asyncio.sleep(0)

        await asyncio.gather(*(count_with_retry() for _ in range(10)))
        async with UnitOfWork(engine, SERVICE) as uow:
            counter = await uow.get(Counter, "busy")
        assert counter is not None and counter.n == 10


class TestOutboxRelay:
    async def test_publishes_each_event_once_with_its_id_as_the_message_id(
        self, engine: AsyncEngine, nats_server
    ) -> None:
        await _count(engine, "relay", times=2)
        nc = await nats.connect(nats_server.url)
        try:
            relay = OutboxRelay(engine, SERVICE, nc)
            await bus.ensure_stream(nc.jetstream(), SERVICE)
            while await relay.publish_pending():
                pass
            async with engine.connect() as conn:
                pending = await conn.scalar(sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
                ids = (await conn.execute(sa.text("SELECT event_id::text FROM events"))).scalars().all()
            assert pending == 0
            before = (await nc.jetstream().stream_info(bus.stream_name(SERVICE))).state.messages

            # A relay that crashed after the ack but before marking publishes again: JetStream drops the duplicates.
            async with engine.begin() as conn:
                await conn.execute(sa.text("UPDATE outbox SET published_at = NULL"))
            while await relay.publish_pending():
                pass
            after = (await nc.jetstream().stream_info(bus.stream_name(SERVICE))).state.messages
            assert after == before

            js = nc.jetstream()
            msg = await js.get_last_msg(bus.stream_name(SERVICE), f"lead.seattle-king-county.{SERVICE}.Counted")
            assert msg.headers is not None and msg.headers["Nats-Msg-Id"] in ids
        finally:
            await nc.close()


class TestConsumer:
    async def test_redelivery_changes_nothing_and_a_poison_event_is_dead_lettered(
        self, engine: AsyncEngine, nats_server
    ) -> None:
        await _count(engine, "poison")  # n == 1 for this stream: the handler refuses it
        await _count(engine, "consumed", times=2)
        nc = await nats.connect(nats_server.url)
        attempts: list[str] = []

        async def apply(uow: UnitOfWork, received: ReceivedEvent) -> None:
            if received.envelope["data"]["counter_id"] == "poison":
                attempts.append(received.id)
                raise ValueError("this event cannot be applied")
            await uow.conn.execute(
                sa.text("INSERT INTO effects (event_id, n) VALUES (CAST(:id AS uuid), :n)"),
                {"id": received.id, "n": received.envelope["data"]["n"]},
            )

        try:
            relay = OutboxRelay(engine, SERVICE, nc)
            await bus.ensure_stream(nc.jetstream(), SERVICE)
            async with engine.begin() as conn:
                await conn.execute(sa.text("UPDATE outbox SET published_at = NULL"))
            while await relay.publish_pending():
                pass
            async with engine.connect() as conn:
                expected = await conn.scalar(sa.text("SELECT count(*) FROM events WHERE stream_id <> 'counter-poison'"))

            async def effects() -> int:
                async with engine.connect() as conn:
                    return int(await conn.scalar(sa.text("SELECT count(*) FROM effects")) or 0)

            async def dead_letters() -> int:
                async with engine.connect() as conn:
                    return int(await conn.scalar(sa.text("SELECT count(*) FROM dead_letters")) or 0)

            consumer = Consumer(
                engine, nc, subscriber="probe", source=SERVICE, handlers={"Counted": apply}, max_attempts=3
            )
            task = asyncio.create_task(consumer.run())
            try:
                await eventually(lambda: _equals(effects, expected))
                await eventually(lambda: _equals(dead_letters, 1))
            finally:
                task.cancel()
            assert len(attempts) == 3

            # Replay the whole stream into the same durable state: processed ids make it a no-op.
            await nc.jetstream().delete_consumer(bus.stream_name(SERVICE), consumer.name)
            again = Consumer(
                engine, nc, subscriber="probe", source=SERVICE, handlers={"Counted": apply}, max_attempts=3
            )
            task = asyncio.create_task(again.run())
            try:
                await eventually(lambda: _equals(dead_letters, 2))
            finally:
                task.cancel()
            assert await effects() == expected
        finally:
            await nc.close()


async def _equals(probe, value: int) -> bool:  # type: ignore[no-untyped-def]
    return await probe() == value
