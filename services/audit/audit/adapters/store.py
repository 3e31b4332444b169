"""The audit log tables."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit.domain.chain import Row

# Appends are serialised on the head row: a chain has one order.
_LOCK_HEAD = sa.text("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
_APPEND = sa.text(
    "INSERT INTO audit_log (seq, event_id, recorded_at, entry, prev_hash, hash) "
    "VALUES (:seq, :event_id, :recorded_at, CAST(:entry AS jsonb), :prev_hash, :hash) ON CONFLICT (event_id) DO NOTHING "
    "RETURNING seq"
)
_MOVE_HEAD = sa.text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1")
_HEAD = sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")
_ROWS = sa.text("SELECT seq, entry, prev_hash, hash FROM audit_log ORDER BY seq")


async def head_for_update(conn: AsyncConnection) -> tuple[int, str]:
    row = (await conn.execute(_LOCK_HEAD)).one()
    return int(row.seq), str(row.hash)


async def append(
    conn: AsyncConnection, seq: int, event_id: str, recorded_at: datetime, entry: dict[str, Any], prev: str, digest: str
) -> bool:
    params = {
        "seq": seq,
        "event_id": event_id,
        "recorded_at": recorded_at,
        "entry": json.dumps(entry),
        "prev_hash": prev,
        "hash": digest,
    }
    if (await conn.execute(_APPEND, params)).first() is None:
        return False
    await conn.execute(_MOVE_HEAD, {"seq": seq, "hash": digest})
    return True


async def head(conn: AsyncConnection) -> tuple[int, str]:
    row = (await conn.execute(_HEAD)).one()
    return int(row.seq), str(row.hash)


async def snapshot(engine: AsyncEngine) -> tuple[list[Row], int, str]:
    """Every row and the head, read from one snapshot so a concurrent append cannot look like tampering."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            head_seq, head_hash = await head(conn)
            result = await conn.stream(_ROWS.execution_options(yield_per=1000))
            rows = [Row(int(r.seq), r.entry, r.prev_hash, r.hash) async for r in result]
    return rows, head_seq, head_hash
