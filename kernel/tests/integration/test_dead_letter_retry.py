"""An operator's retry of a dead letter, run by the consumer through its own handler: applied once, or kept."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import nats
import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_devstack.postgres import PostgresServer, ensure_databases
from divert_kernel import dead_letters, envelope, migrate
from divert_kernel.consumer import Consumer
from divert_kernel.db import create_kernel_tables, make_engine
from divert_kernel.envelope import ReceivedEvent
from divert_kernel.eventstore import StoredEvent
from divert_kernel.uow import UnitOfWork

SOURCE = "kerneltest"
CONSUMER = f"probe-from-{SOURCE}"


def _tables(sync_conn) -> None:  # type: ignore[no-untyped-def]
    create_kernel_tables(Operations(MigrationContext.configure(sync_conn)))
    sync_conn.execute(sa.text("CREATE TABLE effects (event_id uuid NOT NULL)"))


@pytest.fixture(scope="module")
async def engine(postgres: PostgresServer) -> AsyncIterator[AsyncEngine]:
    name = f"kernel_retry_{uuid4().hex[:10]}"
    await ensure_databases(postgres.url("postgres", driver="postgresql"), [name])
    engine = make_engine(postgres.url(name))
    async with engine.begin() as conn:
        await conn.run_sync(_tables)
    await asyncio.to_thread(
        migrate._upgrade, migrate.KERNEL_MIGRATIONS, postgres.url(name), migrate.KERNEL_VERSION_TABLE
    )
    yield engine
    await engine.dispose()


def _envelope(event_id: str) -> str:
    stored = StoredEvent(
        0, event_id, f"probe-{event_id}", 1, "Probed", 1, "seattle-king-county", {}, {}, datetime.now(UTC)
    )
    return json.dumps(envelope.to_cloudevent(SOURCE, stored))


async def _dead_letter(engine: AsyncEngine, event_id: str) -> int:
    async with engine.begin() as conn:
        row = await conn.execute(
            sa.text(
                "INSERT INTO dead_letters (consumer, event_id, subject, envelope, error, attempts) "
                "VALUES (:c, :e, 'lead.x', :env, 'ValueError: first failure', 5) RETURNING id"
            ),
            {"c": CONSUMER, "e": event_id, "env": _envelope(event_id)},
        )
        return int(row.scalar_one())


async def _scalar(engine: AsyncEngine, query: str, **params: object) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.text(query), params) or 0)


async def test_a_retry_applies_once_across_replicas_and_a_failing_one_stays_with_its_new_error(
    engine: AsyncEngine, nats_server
) -> None:
    good, bad = str(uuid4()), str(uuid4())
    runs: list[str] = []

    async def apply(uow: UnitOfWork, received: ReceivedEvent) -> None:
        runs.append(received.id)
        if received.id == bad:
            raise ValueError("still cannot be applied")
        await uow.conn.execute(sa.text("INSERT INTO effects VALUES (CAST(:e AS uuid))"), {"e": received.id})

    nc = await nats.connect(nats_server.url)
    try:
        replicas = [Consumer(engine, nc, subscriber="probe", source=SOURCE, handlers={"Probed": apply}) for _ in "ab"]
        # The same event dead-lettered twice (e.g. after a durable was replayed), and one that still fails.
        first, _, failing = [await _dead_letter(engine, e) for e in (good, good, bad)]
        async with engine.begin() as conn:
            assert await dead_letters.request_retry(conn, [first, failing]) == [first, failing]
        await asyncio.gather(*(r.retry_requested(every=0) for r in replicas))

        assert sorted(runs) == sorted([good, bad])  # each request ran once, on one replica
        assert await _scalar(engine, "SELECT count(*) FROM effects WHERE event_id = CAST(:e AS uuid)", e=good) == 1
        assert await _scalar(engine, "SELECT count(*) FROM dead_letters WHERE event_id = :e", e=good) == 0
        async with engine.connect() as conn:
            (kept,) = await dead_letters.listing(conn, [failing])
        assert kept.attempts == 6 and kept.error == "ValueError"  # the class only: a message may quote data
        assert kept.retry_requested_at is None

        # Dead-lettered again after it was applied: the retry finds it processed and runs nothing twice.
        again = await _dead_letter(engine, good)
        async with engine.begin() as conn:
            await dead_letters.request_retry(conn, [again])
        await replicas[0].retry_requested(every=0)
        assert runs.count(good) == 1
        assert await _scalar(engine, "SELECT count(*) FROM effects WHERE event_id = CAST(:e AS uuid)", e=good) == 1
        assert await _scalar(engine, "SELECT count(*) FROM dead_letters WHERE event_id = :e", e=good) == 0
    finally:
        await nc.close()
