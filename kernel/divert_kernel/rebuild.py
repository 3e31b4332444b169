"""Rebuild a service's read models from its event store and the foreign events it consumed.

The rebuild runs beside the live service: it replays every event into fresh copies of the read-model tables in
a schema of its own (`divert_rebuild`), then, in one transaction that locks the live tables, replays what was
committed meanwhile and swaps the rebuilt rows in. Writers wait for that one short transaction; readers see the
old rows until it commits. `verify` does the same but compares instead of swapping and changes nothing live.
Projectors name tables without a schema, so a search path with the rebuild schema first points them at the
copies, while the event store and the record tables (kept, never rebuilt) resolve to the live schema.
A service whose facts live elsewhere (the audit service's hash chain) names its own `History` to replay.
Replayed facts are marked `replaying`: projectors skip the advisory locks that order live writers, which would
otherwise be held for the whole replay and stall the live service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from divert_kernel import envelope
from divert_kernel.events import load_event, parse_type
from divert_kernel.projection import Fact, Projections, foreign_fact, own_fact, stored_actor

ASIDE = "divert_rebuild"
PAGE = 2000  # facts a round trip; projectors declared with on_each_batch take a page's facts in one call

# Own events and consumed foreign events share one sequence (kernel migration k0002): one order to replay.
_EVERYTHING = """
    SELECT position, event_id::text AS event_id, version, type, schema_version, data, jurisdiction, stream_id,
           recorded_at, metadata, NULL::jsonb AS envelope
    FROM events WHERE position > :after
    UNION ALL
    SELECT seq, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, envelope FROM consumed_events WHERE seq > :after
"""
# Consumed before k0002 kept a copy: such history cannot be replayed, and a rebuild would lose its rows.
_UNKEPT = sa.text(
    "SELECT count(*) FROM processed_events p WHERE NOT EXISTS "
    "(SELECT 1 FROM consumed_events c WHERE c.consumer = p.consumer AND c.event_id = p.event_id)"
)
_ONE_AT_A_TIME = sa.text("SELECT pg_try_advisory_lock(hashtext('divert-projections-rebuild'))")
_RELEASE = sa.text("SELECT pg_advisory_unlock(hashtext('divert-projections-rebuild'))")


def _ordered(select: str) -> sa.TextClause:
    return sa.text(f"SELECT * FROM ({select}) AS p ORDER BY p.position")


def _count(select: str) -> sa.TextClause:
    return sa.text(f"SELECT count(*) FROM ({select}) AS p")


def _late(select: str) -> sa.TextClause:
    return sa.text(
        f"""
        SELECT * FROM ({select}) AS p
        WHERE p.position > :last OR EXISTS (
            SELECT 1 FROM unnest(CAST(:los AS bigint[]), CAST(:his AS bigint[])) AS g(lo, hi)
            WHERE p.position BETWEEN g.lo AND g.hi)
        ORDER BY p.position
        """
    )


class RebuildRefused(Exception):
    """The rebuild cannot run (another is running, or history it would need was never kept)."""


@dataclass
class TableReport:
    live_rows: int
    rebuilt_rows: int
    only_live: int  # rows in the live table and not in the rebuilt one
    only_rebuilt: int

    @property
    def differs(self) -> bool:
        return bool(self.only_live or self.only_rebuilt)


@dataclass
class Report:
    events: int = 0
    tables: dict[str, TableReport] = field(default_factory=dict)

    @property
    def differs(self) -> bool:
        return any(t.differs for t in self.tables.values())


Progress = Callable[[int, int], None]  # (replayed so far, total)


@dataclass
class _Replay:
    """Where phase one stopped: the last position, and the positions below it it did not see (uncommitted then,
    or never used) as ranges, for the catch-up to replay whatever of them committed since."""

    last: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)


async def run(
    engine: AsyncEngine, projections: Projections, *, verify: bool, progress: Progress | None = None
) -> Report:
    """Rebuild (or, with `verify`, compare) the service's read models; returns what differed, per table."""
    report = Report()
    async with engine.connect() as conn:
        if not (await conn.execute(_ONE_AT_A_TIME)).scalar():
            raise RebuildRefused(f"another rebuild of {projections.service} is running")
        await conn.commit()
        try:
            live = await _prepare(conn, projections)
            replay = await _replay_all(conn, projections, live, report, progress)
            await _swap_or_compare(conn, projections, live, replay, report, verify=verify)
        finally:
            await conn.rollback()
            await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {ASIDE} CASCADE"))
            await conn.execute(_RELEASE)
            await conn.commit()
    return report


async def _prepare(conn: AsyncConnection, projections: Projections) -> str:
    """Refuse history that was never kept; create empty copies of the read-model tables aside."""
    unkept = 0 if projections.history else (await conn.execute(_UNKEPT)).scalar_one()
    if unkept:
        raise RebuildRefused(f"{unkept} consumed events predate the kept history (kernel migration k0002)")
    live = (await conn.execute(sa.text("SELECT current_schema()"))).scalar_one()
    await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {ASIDE} CASCADE"))
    await conn.execute(sa.text(f"CREATE SCHEMA {ASIDE}"))
    for table in projections.tables:
        await conn.execute(sa.text(f'CREATE TABLE {ASIDE}."{table}" (LIKE "{live}"."{table}" INCLUDING ALL)'))
    await conn.commit()
    return str(live)


async def _aside(conn: AsyncConnection, live: str) -> None:
    await conn.execute(sa.text(f'SET LOCAL search_path TO {ASIDE}, "{live}"'))


async def _replay_all(
    conn: AsyncConnection, projections: Projections, live: str, report: Report, progress: Progress | None
) -> _Replay:
    """Phase one, without locks: one snapshot (repeatable read) of everything committed, replayed page by page."""
    await conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    await _aside(conn, live)
    select = _select(projections)
    total = (await conn.execute(_count(select), {"after": 0})).scalar_one()
    replay = _Replay()
    # One ordered query read through a server-side cursor, a page a round trip: a query a page would sort what
    # is left of the history again for every page.
    result = await conn.stream(_ordered(select).execution_options(yield_per=PAGE), {"after": 0})
    async for rows in result.partitions(PAGE):
        for row in rows:
            if row.position > replay.last + 1:
                replay.gaps.append((replay.last + 1, row.position - 1))
            replay.last = row.position
        await _apply(conn, projections, rows)
        report.events += len(rows)
        if progress is not None:
            progress(report.events, total)
    await result.close()
    await conn.commit()
    return replay


def _select(projections: Projections) -> str:
    return projections.history.select if projections.history else _EVERYTHING


def _stored_fact(projections: Projections, row: sa.Row[Any]) -> Fact | None:
    """The fact a stored row replays, marked `replaying`; None when no projector takes its type (not parsed)."""
    if projections.history is not None:
        fact = projections.history.fact(row)
        return None if fact is None else replace(fact, replaying=True)
    if row.envelope is not None:
        service, name, _ = parse_type(row.envelope.get("type", ""))
        if not projections.handles(service, name):
            return None
        return foreign_fact(envelope.from_dict(row.envelope), row.position, replaying=True)
    if not projections.handles(projections.service, row.type):
        return None
    event = load_event(projections.service, row.type, row.schema_version, row.data)
    if event is None:
        raise LookupError(f"no contract for {projections.service}.{row.type} v{row.schema_version}")
    actor = stored_actor(row.metadata)
    return own_fact(projections.service, event, row.jurisdiction, row.stream_id, row, actor, replaying=True)


async def _apply(conn: AsyncConnection, projections: Projections, rows: Sequence[sa.Row[Any]]) -> None:
    """Project rows as in order, in as few calls as the projectors allow (Projections.apply_batch)."""
    facts = [f for f in (_stored_fact(projections, r) for r in rows) if f is not None]
    await projections.apply_batch(conn, facts)


async def _catch_up(conn: AsyncConnection, projections: Projections, replay: _Replay, report: Report) -> None:
    """Replay what committed after phase one's snapshot (the live tables are locked: nothing more can)."""
    params = {
        "after": 0,
        "last": replay.last,
        "los": [g[0] for g in replay.gaps],
        "his": [g[1] for g in replay.gaps],
    }
    rows = (await conn.execute(_late(_select(projections)), params)).all()
    await _apply(conn, projections, rows)
    report.events += len(rows)


async def _swap_or_compare(
    conn: AsyncConnection, projections: Projections, live: str, replay: _Replay, report: Report, *, verify: bool
) -> None:
    """Phase two, one transaction: lock the live tables, catch up, compare, and (unless verifying) swap."""
    tables = ", ".join(f'"{live}"."{t}"' for t in projections.tables)
    for attempt in range(5):
        try:
            await conn.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
            # Writers wait; while verifying, readers do not (share mode), while swapping they wait for the swap.
            mode = "SHARE" if verify else "ACCESS EXCLUSIVE"
            await conn.execute(sa.text(f"LOCK TABLE {tables} IN {mode} MODE"))
            await _aside(conn, live)
            await _catch_up(conn, projections, replay, report)
            for table in projections.tables:
                report.tables[table] = await _compare(conn, live, table)
            if not verify:
                await _swap(conn, projections, live)
                await conn.commit()
            return
        except DBAPIError as exc:  # lock timeout or deadlock with the live service: nothing happened; again
            await conn.rollback()
            if attempt == 4 or "lock" not in str(exc.orig).lower():
                raise


async def _compare(conn: AsyncConnection, live: str, table: str) -> TableReport:
    """Rows compared whole, as JSON text (every column type has a text form; not all have equality)."""
    a, b = f'"{live}"."{table}"', f'{ASIDE}."{table}"'
    row = (
        await conn.execute(
            sa.text(
                f"SELECT (SELECT count(*) FROM {a}), (SELECT count(*) FROM {b}), "
                f"(SELECT count(*) FROM (SELECT row_to_json(t)::text FROM {a} t "
                f"EXCEPT ALL SELECT row_to_json(t)::text FROM {b} t) x), "
                f"(SELECT count(*) FROM (SELECT row_to_json(t)::text FROM {b} t "
                f"EXCEPT ALL SELECT row_to_json(t)::text FROM {a} t) y)"
            )
        )
    ).one()
    return TableReport(live_rows=row[0], rebuilt_rows=row[1], only_live=row[2], only_rebuilt=row[3])


async def _swap(conn: AsyncConnection, projections: Projections, live: str) -> None:
    tables = ", ".join(f'"{live}"."{t}"' for t in projections.tables)
    await conn.execute(sa.text(f"TRUNCATE {tables}"))
    for table in projections.tables:  # declared parents first, so foreign keys between them hold
        await conn.execute(
            sa.text(f'INSERT INTO "{live}"."{table}" OVERRIDING SYSTEM VALUE SELECT * FROM {ASIDE}."{table}"')
        )
