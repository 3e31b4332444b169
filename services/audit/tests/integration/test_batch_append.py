"""Entries chained in one transaction after a held head: the same chain as one at a time, and tampering named."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.adapters import store
from audit.domain.chain import link
from divert_devstack.testing import eventually
from divert_kernel.db import make_engine

from .conftest import NOW, decision


@pytest.fixture
async def engine(database: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database)
    yield engine
    await engine.dispose()


def _entry(event_id: str) -> dict:
    return {"event_id": event_id, "type": "org.divert.consent.AccessDecided.v1", "outcome": "permit"}


async def test_entries_of_one_transaction_chain_as_one_at_a_time_would(
    engine: AsyncEngine, db: asyncpg.Connection, verification
) -> None:  # type: ignore[no-untyped-def]
    ids = [str(uuid4()) for _ in range(4)]
    first_seq, first_hash = await db.fetchrow("SELECT seq, hash FROM audit_head")
    held = store.Held()
    async with engine.begin() as conn:
        seqs = [await store.append(conn, event_id, NOW, _entry(event_id), held) for event_id in ids]
        assert await store.append(conn, ids[1], NOW, _entry(ids[1]), held) is None  # in already: nothing chained
    assert seqs == [first_seq + n for n in range(1, 5)]

    rows = await db.fetch("SELECT seq, event_id, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq", first_seq)
    prev = first_hash
    for row, event_id in zip(rows, ids, strict=True):
        assert (row["event_id"], row["prev_hash"]) == (event_id, prev)
        assert row["hash"] == link(prev, row["seq"], event_id, NOW, _entry(event_id))
        prev = row["hash"]
    assert tuple(await db.fetchrow("SELECT seq, hash FROM audit_head")) == (first_seq + 4, prev)
    assert (await verification())["valid"]


async def test_a_row_beyond_a_held_head_is_tampering_and_the_transaction_chains_nothing(
    engine: AsyncEngine, db: asyncpg.Connection
) -> None:
    before = tuple(await db.fetchrow("SELECT seq, hash FROM audit_head"))
    held = store.Held()
    chained, forged = str(uuid4()), str(uuid4())
    try:
        with pytest.raises(store.ChainTampered):
            async with engine.begin() as conn:
                await store.append(conn, chained, NOW, _entry(chained), held)
                # Someone with database access writes where the transaction's next entry would go.
                await db.execute(
                    "INSERT INTO audit_log (seq, event_id, recorded_at, entry, prev_hash, hash, hash_version) "
                    "VALUES ($1, $2, $3, $4, 'x', 'x', 2)",
                    before[0] + 2,
                    forged,
                    NOW,
                    json.dumps(_entry(forged)),
                )
                await store.append(conn, str(uuid4()), NOW, _entry(str(uuid4())), held)
        assert tuple(await db.fetchrow("SELECT seq, hash FROM audit_head")) == before
        assert await db.fetchval("SELECT count(*) FROM audit_log WHERE event_id = $1", chained) == 0
    finally:
        await db.execute("DELETE FROM audit_log WHERE event_id = $1", forged)


async def test_a_burst_of_events_enters_the_chain_once_each_and_verifies(service, publish, db, verification) -> None:  # type: ignore[no-untyped-def]
    ids = [await publish("consent", decision(str(uuid4()))) for _ in range(40)]  # fetched in batches
    count = "SELECT count(*) FROM audit_log WHERE event_id = ANY($1::text[])"

    async def all_in() -> bool:
        return await db.fetchval(count, ids) == len(ids)

    await eventually(all_in)
    assert (await verification())["valid"]
