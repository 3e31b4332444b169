"""Audit verification and projection rebuild, on histories grown from what the load wrote.

The load leaves a few thousand audit entries and prosecution events: too few to time a walk (fixed costs would
dominate). So each history is first grown, bounded in time, from its own real rows:
- the audit chain: the load's entries, again and again with fresh event ids and instants, chained after the head
  (held, so the live service waits) by the chain's own hash, then walked exactly as `divert audit verify` walks it
  (audit.adapters.store.verify: one snapshot, every entry's canonical form hashed, checkpoints checked). Baseline,
  same run, same entries: the RFC 8785 library's canonicalise+hash (what every entry's hash needs at least).
- prosecution's history: its events and the events it consumed, copied in their one order with every UUID
  renamed per copy (so each copy is new referrals, participants and streams), then `divert projections rebuild
  prosecution` (divert_kernel.rebuild.run) timed, and `--verify` run after it. Baseline, same run, same rows: raw
  asyncpg reading them page by page and writing one row per event.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import rfc8785
from _report import not_measured, target
from _system import Running

AUDIT_FILL = 60_000  # entries added after the load's
REBUILD_EVENTS = 60_000  # at least this many events (own and consumed) in prosecution's history
REBUILT = "prosecution"


async def measure(running: Running) -> None:
    await _audit_verify(running)
    await _projection_rebuild(running)


# -- the audit chain ---------------------------------------------------------------------------------------------


async def _audit_verify(running: Running) -> None:
    from audit.adapters import store
    from divert_cli.audit import _verifier
    from divert_kernel.db import make_engine

    started = time.perf_counter()
    filled, library_rate = await _grow_chain(running.database_url("audit"), AUDIT_FILL)
    print(
        f"audit chain filled by the load: {filled} entries; {AUDIT_FILL} more grown from them in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    if not library_rate:
        not_measured("audit verification entries/s", "the load left no entry to grow the chain from")
        return
    document = httpx.get(f"{running.stack.service_url('audit')}/v1/audit/checkpoint-key", timeout=10).json()
    engine = make_engine(running.database_url("audit", "postgresql+asyncpg"))
    try:
        started, cpu = time.perf_counter(), time.process_time()
        report = await store.verify(engine, _verifier(list(document.get("keys", [document]))))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await engine.dispose()
    state = "valid" if report.valid else f"INVALID ({report.problem})"
    rate = report.entries / elapsed
    print(f"audit verify (store.verify, as `divert audit verify`): {report.entries} entries, {state}")
    print(f"   {rate:9.0f} entries/s wall, {cpu / report.entries * 1e6:.1f} us CPU an entry in this process")
    print(f"   baseline, RFC 8785 library canonicalise+hash of the same entries: {library_rate:9.0f}/s")
    print(f"   verify / library: {rate / library_rate:.2f}", flush=True)
    target("audit verification entries/s", rate if report.valid else None, "/s", 30_000, higher_is_better=True)


async def _grow_chain(url: str, count: int) -> tuple[int, float]:
    """Chain `count` copies of the load's entries after the head; returns how many the load left and the
    library's rate (0 when there was nothing to copy)."""
    from audit.domain.canonical import instant

    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            seq, prev = await conn.fetchrow("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
            filled, kept = seq, [json.loads(r[0]) for r in await conn.fetch(_TEMPLATES)]
            if not kept:
                return filled, 0.0
            base = datetime.now(UTC)
            entries = []
            for i in range(count):
                entry, at = dict(kept[i % len(kept)]), base + timedelta(microseconds=i)
                entry["event_id"], entry["recorded_at"] = str(uuid.uuid4()), instant(at)
                entries.append((at, entry))
            rows, started = [], time.perf_counter()
            for at, entry in entries:  # the hashes by the library itself: the baseline, and what the walk checks
                seq += 1
                digest = hashlib.sha256(rfc8785.dumps(_hashed(seq, at, entry, prev, instant))).hexdigest()
                rows.append((seq, entry["event_id"], at, entry, prev, digest))
                prev = digest
            library_rate = count / (time.perf_counter() - started)
            await conn.copy_records_to_table(
                "audit_log",
                records=[(s, e, a, json.dumps(x), p, h, 2) for s, e, a, x, p, h in rows],
                columns=("seq", "event_id", "recorded_at", "entry", "prev_hash", "hash", "hash_version"),
            )
            await conn.execute("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", seq, prev)
    finally:
        await conn.close()
    return filled, library_rate


# The load's own entries (version 2), as JSON text: the shapes a deployment's chain holds.
_TEMPLATES = "SELECT entry::text FROM audit_log WHERE hash_version = 2 ORDER BY seq"


def _hashed(seq, at, entry, prev, instant):  # type: ignore[no-untyped-def]
    """What a version-2 entry's hash covers (audit.domain.chain.link), spelled out for the library."""
    return {
        "hash_version": 2,
        "seq": seq,
        "event_id": entry["event_id"],
        "recorded_at": instant(at),
        "entry": entry,
        "prev_hash": prev,
    }


# -- projection rebuild ------------------------------------------------------------------------------------------


async def _projection_rebuild(running: Running) -> None:
    from divert_cli.projections import projections_of
    from divert_kernel import rebuild
    from divert_kernel.db import make_engine

    started = time.perf_counter()
    grown = await _grow_history(running.database_url(REBUILT), REBUILD_EVENTS)
    print(
        f"{REBUILT} history: {grown} events (own and consumed) after copying, in {time.perf_counter() - started:.1f} s"
    )
    if grown < REBUILD_EVENTS:
        not_measured("projection rebuild events/s", f"the load left no {REBUILT} history to grow")
        return
    baseline = await _raw_replay(running.database_url(REBUILT))
    projections = projections_of(REBUILT)
    engine = make_engine(running.database_url(REBUILT, "postgresql+asyncpg"), pool_size=1)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        report = await rebuild.run(engine, projections, verify=False)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        check = await rebuild.run(engine, projections, verify=True)
    finally:
        await engine.dispose()
    rate = report.events / elapsed
    rows = sum(t.rebuilt_rows for t in report.tables.values())
    print(f"projection rebuild of {REBUILT}: {report.events} events replayed into {rows} rows, swapped in")
    print(f"   {rate:9.0f} events/s wall, {cpu / max(1, report.events) * 1e6:.1f} us CPU an event in this process")
    print(f"   --verify after it: {'DIFFERENCES' if check.differs else 'no differences'}")
    print(f"   baseline, raw asyncpg reading the same rows and writing a row per event: {baseline:9.0f}/s")
    print(f"   rebuild / raw: {rate / baseline:.2f}", flush=True)
    target("projection rebuild events/s", None if check.differs else rate, "/s", 20_000, higher_is_better=True)


_UUID = re.compile(r"\b[0-9a-f]{8}(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")
_OWN = (
    "SELECT position, event_id::text, stream_id, version, type, schema_version, jurisdiction, data::text, "
    "metadata::text, recorded_at FROM events ORDER BY position"
)
_FOREIGN = "SELECT seq, consumer, event_id::text, envelope::text, consumed_at FROM consumed_events ORDER BY seq"


async def _grow_history(url: str, at_least: int) -> int:
    """Copy the service's events and consumed events until there are `at_least`, keeping their one order."""
    conn = await asyncpg.connect(url)
    try:
        own, foreign = await conn.fetch(_OWN), await conn.fetch(_FOREIGN)
        history = sorted([(r[0], "own", r) for r in own] + [(r[0], "foreign", r) for r in foreign])
        copies = max(0, -(-(at_least - len(history)) // max(1, len(history))))
        sequence = await conn.fetchval("SELECT pg_get_serial_sequence('events', 'position')")
        taken = await conn.fetchval(_TAKE, sequence, copies * len(history))
        positions = iter(sorted(taken or []))
        events, consumed = [], []
        for k in range(1, copies + 1):
            rename = f"{k:08x}\\1"
            for _, kind, r in history:
                new = next(positions)
                if kind == "own":
                    copied = [_UUID.sub(rename, v) if isinstance(v, str) else v for v in r[1:]]
                    events.append((new, *copied))
                else:
                    consumed.append((new, r[1], _UUID.sub(rename, r[2]), _UUID.sub(rename, r[3]), r[4]))
        async with conn.transaction():
            await conn.copy_records_to_table("events", records=events, columns=_EVENT_COLUMNS)
            await conn.copy_records_to_table(
                "consumed_events", records=consumed, columns=("seq", "consumer", "event_id", "envelope", "consumed_at")
            )
        return len(history) * (copies + 1)
    finally:
        await conn.close()


_TAKE = "SELECT array_agg(nextval($1)) FROM generate_series(1, $2)"
_EVENT_COLUMNS = (
    "position",
    "event_id",
    "stream_id",
    "version",
    "type",
    "schema_version",
    "jurisdiction",
    "data",
    "metadata",
    "recorded_at",
)


async def _raw_replay(url: str) -> float:
    """Events/s of the floor: the rebuild's own query read as it reads it (a cursor, a page a round trip), each
    page's rows written back, one row an event, in one statement."""
    from divert_kernel.rebuild import _EVERYTHING, PAGE

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TEMP TABLE bench_replayed (position bigint PRIMARY KEY, body jsonb)")
        ordered = f"SELECT * FROM ({_EVERYTHING.replace(':after', '$1')}) AS p ORDER BY p.position"
        started, count = time.perf_counter(), 0
        async with conn.transaction(isolation="repeatable_read"):
            cursor = await conn.cursor(ordered, 0)
            while rows := await cursor.fetch(PAGE):
                await conn.execute(
                    "INSERT INTO bench_replayed SELECT * FROM unnest($1::bigint[], $2::jsonb[])",
                    [r[0] for r in rows],
                    [r[5] or r[10] for r in rows],
                )
                count += len(rows)
        return count / (time.perf_counter() - started)
    finally:
        await conn.close()
