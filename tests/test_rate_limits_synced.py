"""The per-client rate-limit counts kept in memory between syncs (gateway/divert_gateway/adapters/ratecounts.py):
exact on one replica, every hit reaching PostgreSQL once, the other replicas' hits seen within one interval, and
nothing lost when a sync fails. Two "replicas" here are two counters over one database with one clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database
from divert_gateway.adapters.ratecounts import BatchedCounts
from divert_gateway.adapters.ratelimits import PostgresStorage, storage_for
from divert_kernel.clock import FixedClock

SYNC = 1.0
WINDOW = 60


@pytest.fixture
async def replicas(postgres: PostgresServer) -> AsyncIterator[tuple[BatchedCounts, BatchedCounts, FixedClock]]:
    url = await create_database(postgres, "divert_gateway")
    clock = FixedClock(datetime(2031, 1, 1, tzinfo=UTC))
    storages = [storage_for(url, clock), storage_for(url, clock)]
    yield BatchedCounts(storages[0], SYNC), BatchedCounts(storages[1], SYNC), clock
    for storage in storages:
        await storage.close()


async def stored(storage: PostgresStorage, key: str) -> int:
    async with storage.engine.connect() as conn:
        found = await conn.execute(sa.text("SELECT count FROM rate_limit_counters WHERE key = :k"), {"k": key})
        return int(found.scalar() or 0)


async def test_one_replica_counts_exactly_and_writes_once_an_interval(replicas) -> None:  # type: ignore[no-untyped-def]
    a, _, clock = replicas
    counts = [(await a.hit("k", WINDOW))[0] for _ in range(5)]
    assert counts == [1, 2, 3, 4, 5]
    assert await stored(a.storage, "k") == 1  # only the window's first hit went to PostgreSQL
    clock.advance(timedelta(seconds=SYNC))
    assert (await a.hit("k", WINDOW))[0] == 6  # a stale key syncs on the request path: all six sent, once
    assert await stored(a.storage, "k") == 6
    await a.flush()  # nothing pending: nothing sent twice
    assert await stored(a.storage, "k") == 6


async def test_each_replica_sees_the_others_hits_within_one_interval(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b, clock = replicas
    for _ in range(3):
        await a.hit("k", WINDOW)
    # B's first hit is exact with what reached PostgreSQL: A's first hit, not yet its two pending ones (the bound).
    assert (await b.hit("k", WINDOW))[0] == 2
    clock.advance(timedelta(seconds=SYNC))
    await a.flush()
    await b.flush()
    assert await stored(a.storage, "k") == 4  # every hit once, from both
    assert (await a.hit("k", WINDOW))[0] == 5  # A synced just now: counted in its memory
    assert (await b.hit("k", WINDOW))[0] == 5  # B's knowledge was an interval old: synced, without A's newest
    await a.flush()
    assert await stored(a.storage, "k") == 6


async def test_a_failed_sync_keeps_its_hits_for_the_next(replicas) -> None:  # type: ignore[no-untyped-def]
    a, _, clock = replicas
    for _ in range(3):
        await a.hit("k", WINDOW)
    async with a.storage.autocommit.connect() as conn:
        await conn.execute(sa.text("ALTER TABLE rate_limit_counters RENAME TO away"))
    clock.advance(timedelta(seconds=SYNC))
    assert (await a.hit("k", WINDOW))[0] == 4  # the sync failed; the request is counted and goes on
    async with a.storage.autocommit.connect() as conn:
        await conn.execute(sa.text("ALTER TABLE away RENAME TO rate_limit_counters"))
    await a.flush()
    assert await stored(a.storage, "k") == 4


async def test_a_window_that_ended_starts_again_and_drops_its_unsent_hits(replicas) -> None:  # type: ignore[no-untyped-def]
    a, _, clock = replicas
    for _ in range(3):
        await a.hit("k", WINDOW)
    clock.advance(timedelta(seconds=WINDOW))
    count, ends = await a.hit("k", WINDOW)
    assert count == 1 and ends == clock.now() + timedelta(seconds=WINDOW)
    await a.flush()
    assert await stored(a.storage, "k") == 1


async def test_a_zero_interval_writes_every_hit_through(replicas) -> None:  # type: ignore[no-untyped-def]
    a, _, _ = replicas
    through = BatchedCounts(a.storage, 0)
    for expected in (1, 2, 3):
        assert (await through.hit("k", WINDOW))[0] == expected
        assert await stored(a.storage, "k") == expected
