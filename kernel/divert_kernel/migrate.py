"""Alembic, driven from code: each service keeps its own migrations folder and version table."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.pool import NullPool

KERNEL_MIGRATIONS = Path(__file__).parent / "migrations"
KERNEL_VERSION_TABLE = "kernel_alembic_version"


def upgrade(migrations_dir: Path, database_url: str, *, kernel_tables: bool = True) -> None:
    """Apply every migration in `migrations_dir` to the database, then the kernel's own (idempotency records)
    with their own version table, so no service has to carry them (synchronous; run it in a thread)."""
    _upgrade(migrations_dir, database_url, "alembic_version")
    if kernel_tables:
        _upgrade(KERNEL_MIGRATIONS, database_url, KERNEL_VERSION_TABLE)


def _upgrade(migrations_dir: Path, database_url: str, version_table: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url)
    config.set_main_option("version_table", version_table)
    command.upgrade(config, "head")


def run_env() -> None:
    """The body of every service's migrations/env.py: online, async, one transaction."""
    from alembic import context
    from sqlalchemy.ext.asyncio import create_async_engine

    url = context.config.get_main_option("sqlalchemy.url")
    version_table = context.config.get_main_option("version_table") or "alembic_version"
    assert url is not None

    def run(connection) -> None:  # type: ignore[no-untyped-def]
        context.configure(
            connection=connection, target_metadata=None, transaction_per_migration=False, version_table=version_table
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())
