"""Engine creation and the kernel's own tables, present in every service's database."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg engine. No pre-ping (a round trip per transaction): a connection that died with a restarted
    database is invalidated on first use, that one request gets a 503, and the next reconnects."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)


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
