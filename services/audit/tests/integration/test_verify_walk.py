"""The walk `divert audit verify` runs (store.verify) over a chain longer than one page of its cursor: every
entry is checked once, in order, and a break on a later page is named as exactly as one on the first."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import uuid4

import asyncpg
import pytest

from audit.adapters import store
from audit.domain.chain import GENESIS, link
from divert_kernel.db import make_engine

from .conftest import NOW

ENTRIES = 4_500  # beyond two pages of the walk's cursor (store._WALK_PAGE)


def _never_signed(document: bytes, signature: str, key_id: str) -> bool:
    return False


@pytest.fixture(scope="module")
async def long_chain(database: str) -> str:
    """ENTRIES entries bulk-written as the service chains them (its own `link`), the head moved to the last."""
    rows, prev = [], GENESIS
    for seq in range(1, ENTRIES + 1):
        at, event_id = NOW + timedelta(milliseconds=seq), str(uuid4())
        entry = {"event_id": event_id, "type": "org.divert.prosecution.ChargeHeld", "data": {"n": seq, "q": "é"}}
        digest = link(prev, seq, event_id, at, entry)
        rows.append((seq, event_id, at, json.dumps(entry), prev, digest, 2))
        prev = digest
    conn = await asyncpg.connect(database.replace("+asyncpg", ""))
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "audit_log",
                records=rows,
                columns=("seq", "event_id", "recorded_at", "entry", "prev_hash", "hash", "hash_version"),
            )
            await conn.execute("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", ENTRIES, prev)
    finally:
        await conn.close()
    return database


@pytest.fixture
async def db(long_chain: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(long_chain.replace("+asyncpg", ""))
    yield conn
    await conn.close()


async def _walk(url: str) -> tuple[store.Verification, list[int]]:
    seen: list[int] = []
    engine = make_engine(url, pool_size=1)
    try:
        report = await store.verify(engine, _never_signed, progress=lambda seq, head: seen.append(seq))
    finally:
        await engine.dispose()
    return report, seen


async def test_every_entry_of_every_page_is_checked_once_in_order(long_chain: str) -> None:
    report, seen = await _walk(long_chain)
    assert report.valid and report.entries == ENTRIES, report
    assert seen == list(range(1, ENTRIES + 1))


@pytest.mark.parametrize("seq", [3, 2_001, 4_500])
async def test_an_entry_altered_on_any_page_is_named(long_chain: str, db: asyncpg.Connection, seq: int) -> None:
    entry = await db.fetchval("SELECT entry FROM audit_log WHERE seq = $1", seq)
    await db.execute("UPDATE audit_log SET entry = jsonb_set(entry, '{data,n}', '0') WHERE seq = $1", seq)
    try:
        report, seen = await _walk(long_chain)
    finally:
        await db.execute("UPDATE audit_log SET entry = $1 WHERE seq = $2", entry, seq)
    assert not report.valid
    assert (report.first_bad_entry, report.entries, report.problem) == (seq, seq - 1, "the entry was altered")
    assert seen == list(range(1, seq))  # the walk stops at the break


async def test_an_entry_removed_from_a_later_page_is_named(long_chain: str, db: asyncpg.Connection) -> None:
    saved = await db.fetchrow(
        "SELECT seq, event_id, recorded_at, entry, prev_hash, hash, hash_version FROM audit_log WHERE seq = 2500"
    )
    await db.execute("DELETE FROM audit_log WHERE seq = 2500")
    try:
        report, _ = await _walk(long_chain)
    finally:
        await db.execute(
            "INSERT INTO audit_log (seq, event_id, recorded_at, entry, prev_hash, hash, hash_version) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            *saved.values(),
        )
    assert (report.valid, report.first_bad_entry, report.problem) == (
        False,
        2_500,
        "an entry is missing or out of order",
    )
    assert (await _walk(long_chain))[0].valid
