"""The audit log tables: the hash chain, its head, and the signed checkpoints."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit.domain import chain
from audit.domain.chain import ChainWalker, Row, Seal, Verification
from audit.domain.checkpoint import SealedHead

# Appends are serialised on the head row: a chain has one order.
_LOCK_HEAD = sa.text("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
# One round trip an entry: refuse a row already beyond the head, chain the entry unless its event is in, and move
# the head to it. `taken` and `seq` come back: a taken sequence is tampering; no seq, the event was in already.
_APPEND = sa.text(
    """
    WITH beyond AS (SELECT EXISTS (SELECT 1 FROM audit_log WHERE seq = CAST(:seq AS bigint)) AS taken),
    appended AS (
        INSERT INTO audit_log (seq, event_id, recorded_at, entry, prev_hash, hash, hash_version)
        SELECT CAST(:seq AS bigint), CAST(:event_id AS text), CAST(:recorded_at AS timestamptz),
               CAST(:entry AS jsonb), CAST(:prev_hash AS text), CAST(:hash AS text), CAST(:hash_version AS smallint)
        WHERE NOT (SELECT taken FROM beyond)
        ON CONFLICT (event_id) DO NOTHING RETURNING seq, hash
    ),
    moved AS (UPDATE audit_head h SET seq = a.seq, hash = a.hash FROM appended a WHERE h.id = 1 RETURNING h.seq)
    SELECT (SELECT taken FROM beyond) AS taken, (SELECT seq FROM moved) AS seq
    """
)


@dataclass
class Held:
    """The head as one transaction holds it: locked by its first append, kept by the appends after it (the lock
    stays until the transaction ends, so nothing else moves the head meanwhile), which need not read it again."""

    seq: int | None = None
    hash: str = ""


class ChainTampered(Exception):
    """A row sits beyond the head: someone wrote to the log outside the service. Nothing more is appended."""


_HEAD = sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")
_CHECKPOINTS = sa.text(
    "SELECT checkpoint_id::text, seq, hash, sealed_at, key_id, signature FROM audit_checkpoints ORDER BY seq"
)
_LAST_CHECKPOINT = sa.text("SELECT COALESCE(max(seq), 0) FROM audit_checkpoints")
_ADD_CHECKPOINT = sa.text(
    "INSERT INTO audit_checkpoints (seq, checkpoint_id, hash, sealed_at, key_id, signature) "
    "VALUES (:seq, CAST(:checkpoint_id AS uuid), :hash, :sealed_at, :key_id, :signature) ON CONFLICT DO NOTHING"
)

# Whether a checkpoint's signature is genuine: (signed document, signature, key id) -> bool.
Verifies = Callable[[bytes, str, str], bool]


async def append(
    conn: AsyncConnection, event_id: str, recorded_at: datetime, entry: Mapping[str, Any], held: Held | None = None
) -> int | None:
    """Chain one entry after the head (locked for the transaction): its sequence, or None if the event is in.

    `held`, passed to each append of one transaction, spares the appends after the first their read of the head.
    """
    held = held or Held()
    if held.seq is None:
        seq, held.hash = (await conn.execute(_LOCK_HEAD)).one()
        held.seq = int(seq)
    seq = held.seq + 1
    digest = chain.link(held.hash, seq, event_id, recorded_at, entry)
    params = {
        "seq": seq,
        "event_id": event_id,
        "recorded_at": recorded_at,
        "entry": json.dumps(entry),
        "prev_hash": held.hash,
        "hash": digest,
        "hash_version": chain.HASH_VERSION,
    }
    taken, appended = (await conn.execute(_APPEND, params)).one()
    if taken:
        raise ChainTampered(f"entry {seq} exists beyond the head")
    if appended is None:
        return None
    held.seq, held.hash = seq, digest
    return seq


async def head(conn: AsyncConnection) -> tuple[int, str]:
    row = (await conn.execute(_HEAD)).one()
    return int(row.seq), str(row.hash)


def _seals(checkpoints: list[SealedHead], published: SealedHead | None, verifies: Verifies) -> dict[int, Seal]:
    seals = {}
    for c in checkpoints:
        genuine = verifies(c.signed_document(), c.signature, c.key_id)
        problem = None if genuine else f"checkpoint {c.sequence} does not carry the audit key's signature"
        seals[c.sequence] = Seal(c.head_hash, problem)
    if published is not None and seals.get(published.sequence, Seal("")).problem is None:
        kept = next((c for c in checkpoints if c.sequence == published.sequence), None)
        if kept != published:
            problem = f"checkpoint {published.sequence} was removed or altered: it differs from its published copy"
            seals[published.sequence] = Seal(published.head_hash, problem)
    return seals


async def checkpoints(conn: AsyncConnection) -> list[SealedHead]:
    return [
        SealedHead(r.checkpoint_id, int(r.seq), r.hash, r.sealed_at, r.key_id, r.signature)
        for r in await conn.execute(_CHECKPOINTS)
    ]


async def verify(
    engine: AsyncEngine,
    verifies: Verifies,
    published: SealedHead | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Verification:
    """Walk every row from one snapshot (so a concurrent append cannot look like tampering), in constant memory.

    Checked against the signed checkpoints in the database and the newest copy published outside it.
    `progress(seq, head_seq)`, if given, hears of each entry checked (`divert audit verify` draws a bar with it).
    """
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            head_seq, head_hash = await head(conn)
            walker = ChainWalker(head_seq, head_hash, _seals(await checkpoints(conn), published, verifies))
            # The rows straight from asyncpg, in the snapshot the statements above began: a server-side cursor
            # fetched a page per round trip, without SQLAlchemy's per-row result processing; the database reads
            # the next page while this one is hashed.
            driver = (await conn.get_raw_connection()).driver_connection
            cursor = await driver.cursor(_WALK)
            page = await cursor.fetch(_WALK_PAGE)
            while page:
                ahead = asyncio.ensure_future(cursor.fetch(_WALK_PAGE)) if len(page) == _WALK_PAGE else None
                whole = _walk(walker, page, head_seq, progress)
                page = await ahead if ahead is not None else []  # awaited either way: one statement at a time
                if not whole:
                    break
    return walker.result()


# The entry as its JSON text, parsed here with the standard library (as the engine's own codec does).
_WALK = "SELECT seq, event_id, recorded_at, entry::text, prev_hash, hash, hash_version FROM audit_log ORDER BY seq"
_WALK_PAGE = 2000


def _walk(walker: ChainWalker, page: list[Any], head_seq: int, progress: Callable[[int, int], None] | None) -> bool:
    """Feed a page of rows to the walker; False once the chain is broken."""
    loads = json.loads
    for seq, event_id, recorded_at, entry, prev_hash, digest, version in page:
        if not walker.feed(Row(seq, event_id, recorded_at, loads(entry), prev_hash, digest, version)):
            return False
        if progress is not None:
            progress(seq, head_seq)
    return True


async def last_checkpoint(conn: AsyncConnection) -> int:
    return int((await conn.execute(_LAST_CHECKPOINT)).scalar() or 0)


async def add_checkpoint(conn: AsyncConnection, sealed: SealedHead) -> None:
    await conn.execute(
        _ADD_CHECKPOINT,
        {
            "seq": sealed.sequence,
            "checkpoint_id": sealed.checkpoint_id,
            "hash": sealed.head_hash,
            "sealed_at": sealed.sealed_at,
            "key_id": sealed.key_id,
            "signature": sealed.signature,
        },
    )
