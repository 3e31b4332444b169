"""A fetched batch applied in one transaction: each event still applied once, a failure retried alone, and what a
message causes carries that message's causation. Real PostgreSQL and a module's own nats-server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import singledispatchmethod
from uuid import uuid4

import nats
import nats.js.errors
import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_devstack.postgres import PostgresServer, ensure_databases
from divert_devstack.testing import eventually
from divert_kernel import bus, envelope
from divert_kernel.aggregate import Aggregate
from divert_kernel.consumer import Consumer
from divert_kernel.db import create_kernel_tables, make_engine
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.events import Event
from divert_kernel.eventstore import StoredEvent
from divert_kernel.outbox import OutboxRelay
from divert_kernel.uow import UnitOfWork

SOURCE = "batchsource"
JURISDICTION = "seattle-king-county"


class Echoed(Event):
    service = "batchprobe"
    of: str


class Echo(Aggregate):
    stream_prefix = "echo"

    def echo(self, of: str) -> None:
        self._record(Echoed(of=of))

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(type(event).__name__)

    @apply.register
    def _(self, event: Echoed) -> None:
        pass


def _tables(sync_conn) -> None:  # type: ignore[no-untyped-def]
    create_kernel_tables(Operations(MigrationContext.configure(sync_conn)))
    sync_conn.execute(sa.text("CREATE TABLE effects (event_id uuid NOT NULL, n int NOT NULL)"))


@pytest.fixture
async def engine(postgres: PostgresServer) -> AsyncIterator[AsyncEngine]:
    name = f"kernel_batch_{uuid4().hex[:10]}"
    await ensure_databases(postgres.url("postgres", driver="postgresql"), [name])
    engine = make_engine(postgres.url(name))
    async with engine.begin() as conn:
        await conn.run_sync(_tables)
    yield engine
    await engine.dispose()


@pytest.fixture
async def nc(module_nats):  # type: ignore[no-untyped-def]
    client = await nats.connect(module_nats.url)
    js = client.jetstream()
    try:  # each test starts with an empty stream and no durable
        await js.delete_stream(bus.stream_name(SOURCE))
    except nats.js.errors.NotFoundError:
        pass
    await bus.ensure_stream(js, SOURCE)
    yield client
    await client.close()


async def _publish(nc, n: int, event_id: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Publish event number `n` as SOURCE would; the same `event_id` again is a redelivery (another message id)."""
    event_id = event_id or str(uuid4())
    stored = StoredEvent(
        0, event_id, f"probe-{event_id}", 1, "Probed", 1, JURISDICTION, {"n": n}, {}, datetime.now(UTC)
    )
    body = json.dumps(envelope.to_cloudevent(SOURCE, stored)).encode()
    subject = envelope.subject(JURISDICTION, SOURCE, "Probed")
    await nc.jetstream().publish(subject, body, headers={"Nats-Msg-Id": str(uuid4())})
    return event_id


async def _rows(engine: AsyncEngine, query: str) -> list:  # type: ignore[type-arg]
    async with engine.connect() as conn:
        return list((await conn.execute(sa.text(query))).all())


async def _run_until(consumer: Consumer, done) -> None:  # type: ignore[no-untyped-def]
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(done, timeout=30)
    finally:
        task.cancel()


async def _effect(uow: UnitOfWork, received: ReceivedEvent) -> None:
    await uow.conn.execute(
        sa.text("INSERT INTO effects (event_id, n) VALUES (CAST(:id AS uuid), :n)"),
        {"id": received.id, "n": received.envelope["data"]["n"]},
    )


async def test_a_commit_wakes_the_relay_only_when_it_appended(engine: AsyncEngine) -> None:
    wakes: list[int] = []
    async with UnitOfWork(engine, "batchprobe", lambda: wakes.append(1)) as uow:
        await uow.conn.execute(sa.text("SELECT 1"))
        await uow.commit()
    assert wakes == []
    async with UnitOfWork(engine, "batchprobe", lambda: wakes.append(1)) as uow:
        echo = Echo(str(uuid4()), JURISDICTION)
        uow.add(echo)
        echo.echo("nothing")
        await uow.commit()
    assert wakes == [1]


async def test_a_failing_message_is_retried_alone_and_the_rest_of_its_batch_applied_once(
    engine: AsyncEngine, nc
) -> None:
    ids = [await _publish(nc, n) for n in range(1, 7)]
    bad_runs: list[str] = []

    async def apply(uow: UnitOfWork, received: ReceivedEvent) -> None:
        if received.envelope["data"]["n"] == 3:
            bad_runs.append(received.id)
            raise ValueError("this event cannot be applied")
        await _effect(uow, received)

    consumer = Consumer(engine, nc, subscriber="probe", source=SOURCE, handlers={"Probed": apply}, max_attempts=2)

    async def dead_lettered() -> bool:
        return bool(await _rows(engine, "SELECT 1 FROM dead_letters"))

    await _run_until(consumer, dead_lettered)
    effects = await _rows(engine, "SELECT event_id::text, n FROM effects ORDER BY n")
    assert effects == [(ids[n - 1], n) for n in (1, 2, 4, 5, 6)]
    assert await _rows(engine, "SELECT event_id FROM dead_letters") == [(ids[2],)]
    assert bad_runs == [ids[2], ids[2]]  # once per delivery, as a message alone would run
    claimed = await _rows(engine, "SELECT event_id::text FROM processed_events ORDER BY event_id")
    assert claimed == sorted((i,) for i in ids if i != ids[2])


async def test_a_redelivered_event_in_a_batch_is_applied_once(engine: AsyncEngine, nc) -> None:
    applied_before = str(uuid4())
    async with engine.begin() as conn:  # applied, but its ack was lost: JetStream delivers it again
        await conn.execute(
            sa.text("INSERT INTO processed_events (consumer, event_id) VALUES (:c, CAST(:e AS uuid))"),
            {"c": f"probe-from-{SOURCE}", "e": applied_before},
        )
    twice = await _publish(nc, 1)
    await _publish(nc, 2, applied_before)
    await _publish(nc, 1, twice)
    once = await _publish(nc, 3)
    consumer = Consumer(engine, nc, subscriber="probe", source=SOURCE, handlers={"Probed": _effect})

    async def settled() -> bool:
        try:
            info = await nc.jetstream().consumer_info(bus.stream_name(SOURCE), consumer.name)
        except nats.js.errors.NotFoundError:
            return False  # not subscribed yet
        return info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.stream_seq == 4

    await _run_until(consumer, settled)
    effects = await _rows(engine, "SELECT event_id::text FROM effects ORDER BY n")
    assert effects == [(twice,), (once,)]


async def test_what_each_message_of_a_batch_appends_carries_its_own_causation(engine: AsyncEngine, nc) -> None:
    ids = [await _publish(nc, n) for n in range(1, 4)]
    wakes: list[int] = []

    async def echo(uow: UnitOfWork, received: ReceivedEvent) -> None:
        aggregate = Echo(received.id, JURISDICTION)
        uow.add(aggregate)
        aggregate.echo(received.id)

    consumer = Consumer(
        engine, nc, subscriber="probe", source=SOURCE, handlers={"Probed": echo}, on_commit=lambda: wakes.append(1)
    )

    async def echoed() -> bool:
        return len(await _rows(engine, "SELECT 1 FROM events")) == 3

    await _run_until(consumer, echoed)
    rows = await _rows(engine, "SELECT stream_id, metadata FROM events ORDER BY position")
    assert [(stream, meta["causation_id"]) for stream, meta in rows] == [(f"echo-{i}", i) for i in ids]
    # One transaction for the three (the batch path was taken), and one wake of the relay for its commit.
    assert len(await _rows(engine, "SELECT DISTINCT xmin::text FROM processed_events")) == 1
    assert wakes == [1]


class _Deadlock(Exception):
    """What SQLAlchemy raises when PostgreSQL breaks a deadlock: the driver's error, with its SQLSTATE, as `orig`."""

    def __init__(self) -> None:
        super().__init__("deadlock detected")
        self.orig = type("DriverError", (), {"sqlstate": "40P01"})()


async def test_a_batch_that_deadlocks_blames_no_message_and_applies_each_alone(engine: AsyncEngine, nc) -> None:
    ids = [await _publish(nc, n) for n in range(1, 5)]
    deadlocked: list[int] = []

    async def apply(uow: UnitOfWork, received: ReceivedEvent) -> None:
        if received.envelope["data"]["n"] == 2 and not deadlocked:
            deadlocked.append(1)
            raise _Deadlock()
        await _effect(uow, received)

    consumer = Consumer(engine, nc, subscriber="probe", source=SOURCE, handlers={"Probed": apply})

    async def applied() -> bool:
        return len(await _rows(engine, "SELECT 1 FROM effects")) == 4

    await _run_until(consumer, applied)
    # In order, one transaction each: none was sent back to wait for a retry behind the others.
    in_commit_order = "SELECT event_id::text FROM effects ORDER BY xmin::text::bigint"
    assert await _rows(engine, in_commit_order) == [(i,) for i in ids]


async def test_the_relay_marks_published_only_what_jetstream_acknowledged(engine: AsyncEngine, nc) -> None:
    big = "x" * 4000
    for of in ("first", big, "third"):
        async with UnitOfWork(engine, "batchprobe") as uow:
            echo = Echo(str(uuid4()), JURISDICTION)
            uow.add(echo)
            echo.echo(of)
            await uow.commit()
    js, name = nc.jetstream(), bus.stream_name("batchprobe")
    await bus.ensure_stream(js, "batchprobe")
    await js.purge_stream(name)
    config = (await js.stream_info(name)).config
    config.max_msg_size = 2048  # JetStream refuses the middle event and stores the two around it
    await js.update_stream(config)
    relay = OutboxRelay(engine, "batchprobe", nc)

    assert await relay.publish_pending() == 2
    unpublished = "SELECT e.data->>'of' FROM outbox o JOIN events e USING (position) WHERE o.published_at IS NULL"
    assert await _rows(engine, unpublished) == [(big,)]

    config.max_msg_size = -1
    await js.update_stream(config)
    assert await relay.publish_pending() == 1
    assert await _rows(engine, unpublished) == []
    stored = [json.loads((await js.get_msg(name, seq)).data)["data"]["of"] for seq in (1, 2, 3)]
    assert stored == ["first", "third", big]  # sent again, it lands after the later ones (see OutboxRelay._send)


async def test_the_relay_publishes_only_while_it_leads_and_idles_on_one_statement(engine: AsyncEngine, nc) -> None:
    relay = OutboxRelay(engine, "batchprobe", nc)
    await bus.ensure_stream(nc.jetstream(), "batchprobe")
    assert await relay.publish_pending() == 0  # nothing pending: answered without the leader lock
    async with UnitOfWork(engine, "batchprobe") as uow:
        echo = Echo(str(uuid4()), JURISDICTION)
        uow.add(echo)
        echo.echo("one")
        await uow.commit()
    async with engine.connect() as other, other.begin():  # another replica's relay leads
        await other.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('divert-outbox-relay'))"))
        assert await relay.publish_pending() == 0
    assert await relay.publish_pending() == 1
    assert await relay.publish_pending() == 0
