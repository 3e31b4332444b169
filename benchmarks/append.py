"""Event-store append rate against raw asyncpg commits and pyeventsourcing, all in the same run on the same PostgreSQL.

    make bench        (or: python benchmarks/append.py [events] [writers])

The baseline is raw asyncpg running the very statement the event store runs (event row, outbox row,
unique (stream, version)) in its own transaction, so the ratio is the cost of the kernel's Python:
unit of work, aggregate, pydantic serialisation, SQLAlchemy. A plain one-row insert is printed beside it
for scale. pyeventsourcing (the `eventsourcing` package, its PostgreSQL recorder on psycopg 3) appends the
same shape (a new aggregate, one event of the same fields, in its own transaction) with as many threads as
we have writers, in its own database on the same server: measured beside ours, never a quoted constant.
"""

from __future__ import annotations

import asyncio
import functools
import json
import statistics
import sys
import tempfile
import time
from functools import singledispatchmethod
from pathlib import Path
from uuid import uuid4

import asyncpg
from alembic.migration import MigrationContext
from alembic.operations import Operations

from divert_devstack.postgres import PostgresServer, ensure_databases
from divert_devstack.procs import free_port
from divert_kernel.aggregate import Aggregate
from divert_kernel.db import create_kernel_tables, make_engine
from divert_kernel.events import Event
from divert_kernel.uow import UnitOfWork

sys.path.insert(0, str(Path(__file__).parent))
from _report import target


class Benchmarked(Event):
    service = "bench"
    subject_id: str
    codes: list[str]
    status: str


class Subject(Aggregate):
    stream_prefix = "subject"

    def touch(self) -> None:
        self._record(Benchmarked(subject_id=self.id, codes=["35A", "90C"], status="held"))

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        pass


ROUNDS = 3
PAYLOAD = json.dumps({"subject_id": str(uuid4()), "codes": ["35A", "90C"], "status": "held"})


async def raw_commits(url: str, n: int, writers: int) -> float:
    pool = await asyncpg.create_pool(url, min_size=writers, max_size=writers)
    await pool.execute("CREATE TABLE IF NOT EXISTS raw_rows (id bigserial PRIMARY KEY, stream text, data jsonb)")

    async def writer(count: int) -> None:
        for _ in range(count):
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("INSERT INTO raw_rows (stream, data) VALUES ($1, $2::jsonb)", str(uuid4()), PAYLOAD)

    started = time.perf_counter()
    await asyncio.gather(*(writer(n // writers) for _ in range(writers)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return (n // writers * writers) / elapsed


SAME_STATEMENT = """
    WITH appended AS (
        INSERT INTO events (event_id, stream_id, version, type, schema_version, jurisdiction, data, metadata)
        SELECT e.event_id, $1, e.version, e.type, e.schema_version, $2, e.data::jsonb, $3::jsonb
        FROM unnest($4::uuid[], $5::int[], $6::text[], $7::int[], $8::text[])
             AS e(event_id, version, type, schema_version, data)
        RETURNING position
    )
    INSERT INTO outbox (position) SELECT position FROM appended
"""


async def raw_same_statement(url: str, n: int, writers: int) -> float:
    pool = await asyncpg.create_pool(url, min_size=writers, max_size=writers)
    metadata = json.dumps({"actor": {"agency": "bench"}})

    async def writer(count: int) -> None:
        for _ in range(count):
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    SAME_STATEMENT,
                    f"subject-{uuid4()}",
                    "seattle-king-county",
                    metadata,
                    [uuid4()],
                    [1],
                    ["Benchmarked"],
                    [1],
                    [PAYLOAD],
                )

    started = time.perf_counter()
    await asyncio.gather(*(writer(n // writers) for _ in range(writers)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return (n // writers * writers) / elapsed


async def event_store_appends(url: str, n: int, writers: int) -> float:
    engine = make_engine(url, pool_size=writers)

    async def writer(count: int) -> None:
        for _ in range(count):
            async with UnitOfWork(engine, "bench") as uow:
                subject = Subject(str(uuid4()), "seattle-king-county")
                subject.touch()
                uow.add(subject)
                await uow.commit()

    await writer(20)  # warm the pool and the statement cache
    started = time.perf_counter()
    await asyncio.gather(*(writer(n // writers) for _ in range(writers)))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return (n // writers * writers) / elapsed


@functools.cache
def _es_subject() -> type:
    """pyeventsourcing's aggregate of the same shape; defined once (its topic registry refuses a second class)."""
    from eventsourcing.domain import Aggregate as EsAggregate
    from eventsourcing.domain import event

    class EsSubject(EsAggregate):
        @event("Benchmarked")
        def __init__(self, subject_id: str, codes: list[str], status: str) -> None:
            self.subject_id, self.codes, self.status = subject_id, codes, status

    return EsSubject


def pyeventsourcing_appends(server: PostgresServer, database: str, n: int, writers: int) -> float:
    """pyeventsourcing's own application, repository and recorder; its API is synchronous, so one thread a writer."""
    from concurrent.futures import ThreadPoolExecutor

    from eventsourcing.application import Application

    EsSubject = _es_subject()
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database,
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": str(server.port),
        "POSTGRES_USER": server.user,
        "POSTGRES_PASSWORD": server.password,
        "POSTGRES_POOL_SIZE": str(writers),
        "POSTGRES_MAX_OVERFLOW": "0",
    }
    app = Application(env=env)

    def writer(count: int) -> None:
        for _ in range(count):
            app.save(EsSubject(str(uuid4()), ["35A", "90C"], "held"))

    writer(20)  # warm the pool, as for ours
    started = time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(writer, [n // writers] * writers))
    elapsed = time.perf_counter() - started
    app.close()
    return (n // writers * writers) / elapsed


async def main(n: int, writers: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        server = PostgresServer(Path(home) / "data", free_port())
        server.start()
        try:
            await ensure_databases(server.url("postgres", "postgresql"), ["bench", "pyeventsourcing"])
            engine = make_engine(server.url("bench"))
            async with engine.begin() as conn:
                await conn.run_sync(lambda c: create_kernel_tables(Operations(MigrationContext.configure(c))))
            await engine.dispose()
            plain = await raw_commits(server.url("bench", "postgresql"), n, writers)
            # A second's run swings with the machine: three rounds, each measuring all three back to back,
            # and each ratio taken within its round; the median round's ratio is the figure.
            rounds = []
            for _ in range(ROUNDS):
                raw = await raw_same_statement(server.url("bench", "postgresql"), n, writers)
                ours = await event_store_appends(server.url("bench"), n, writers)
                theirs = await asyncio.to_thread(pyeventsourcing_appends, server, "pyeventsourcing", n, writers)
                rounds.append((raw, ours, theirs))
        finally:
            server.stop()
    print(f"raw asyncpg, one-row insert   : {plain:8.0f}/s  ({n} commits, {writers} writers)")
    for i, (raw, ours, theirs) in enumerate(rounds, 1):
        print(
            f"round {i}: raw asyncpg, same statement (event + outbox + version check) {raw:6.0f}/s | event store "
            f"(unit of work) {ours:6.0f}/s | pyeventsourcing {theirs:6.0f}/s ({writers} threads, same server)"
        )
    to_raw = statistics.median(ours / raw for raw, ours, _ in rounds)
    to_theirs = statistics.median(ours / theirs for _, ours, theirs in rounds)
    target("event-store appends / raw same statement", to_raw, "x", 0.8, higher_is_better=True)
    target("event-store appends / pyeventsourcing", to_theirs, "x", 5, higher_is_better=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000, int(sys.argv[2]) if len(sys.argv) > 2 else 8))
