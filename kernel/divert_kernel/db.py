"""Engine creation and the kernel's own tables, present in every service's database."""

from __future__ import annotations

from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg engine. No pre-ping (a round trip per transaction): a connection that died with a restarted
    database is invalidated on first use, that one request gets a 503, and the next reconnects."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=max(1, pool_size // 2), pool_pre_ping=False)


async def driver_fetch(conn: AsyncConnection, statement: str, *args: Any) -> list[asyncpg.Record]:
    """Run one hot statement on the asyncpg connection under `conn`, inside `conn`'s transaction.

    SQLAlchemy's execute costs about twice the driver's own in CPU (compiling binds, the greenlet hop, the
    result wrapper); the kernel's per-event statements (appends, claims) run here instead. The transaction is
    SQLAlchemy's: begun now if it has not been yet (the adapter begins lazily, at the first statement), and
    committed or rolled back by `conn` as usual. Errors come back as SQLAlchemy's, so callers and the problem
    handlers see the same exceptions as from `conn.execute`.
    """
    raw = await conn.get_raw_connection()
    adapted = raw.dbapi_connection
    try:
        async with adapted._execute_mutex:  # type: ignore[union-attr]
            if adapted._transaction is None:  # type: ignore[union-attr]
                await adapted._start_transaction()  # type: ignore[union-attr]
            return await adapted._connection.fetch(statement, *args)  # type: ignore[union-attr,no-any-return]
    except asyncpg.IntegrityConstraintViolationError as error:
        raise sa_exc.IntegrityError(statement, args, error) from error
    except Exception as error:
        # A connection lost (the database restarted, the backend was ended) is dropped from the pool, as
        # SQLAlchemy's own execute does, and reads as "database unavailable" (503) to the problem handlers. The
        # adapter's BEGIN raises its own driver-level errors, wrapped here the same way.
        if isinstance(error, sa_exc.SQLAlchemyError) and not isinstance(error, sa_exc.DBAPIError):
            raise
        lost = adapted._connection.is_closed() or isinstance(  # type: ignore[union-attr]
            error, asyncpg.PostgresConnectionError | asyncpg.InterfaceError | OSError
        )
        if lost:
            await conn.invalidate()
        raise sa_exc.DBAPIError(statement, args, error, connection_invalidated=lost) from error


def create_kernel_tables(op: object) -> None:
    """Alembic: the event store, outbox, processed-event and dead-letter tables."""
    from alembic import op as alembic_op

    o = op if op is not None else alembic_op
    o.create_table(  # type: ignore[attr-defined]
        "events",
        sa.Column("position", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        sa.Column("stream_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("jurisdiction", sa.Text, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("metadata", JSONB, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("stream_id", "version", name="events_stream_version"),
    )
    o.create_table(  # type: ignore[attr-defined]
        "outbox",
        sa.Column("position", sa.BigInteger, sa.ForeignKey("events.position"), primary_key=True),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    o.create_index(  # type: ignore[attr-defined]
        "outbox_unpublished", "outbox", ["position"], postgresql_where=sa.text("published_at IS NULL")
    )
    o.create_table(  # type: ignore[attr-defined]
        "processed_events",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    o.create_table(  # type: ignore[attr-defined]
        "dead_letters",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("consumer", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
