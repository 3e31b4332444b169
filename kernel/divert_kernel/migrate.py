"""Alembic, driven from code: each service keeps its own migrations folder and version table."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.pool import NullPool


def upgrade(migrations_dir: Path, database_url: str) -> None:
    """Apply every migration in `migrations_dir` to the database (synchronous; run it in a thread)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url)
    command.upgrade(config, "head")


def run_env() -> None:
    """The body of every service's migrations/env.py: online, async, one transaction."""
    from alembic import context
    from sqlalchemy.ext.asyncio import create_async_engine

    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None

    def run(connection) -> None:  # type: ignore[no-untyped-def]
        context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())
