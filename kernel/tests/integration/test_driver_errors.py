"""The event store's append runs on the driver (db.driver_fetch): a lost connection still reads as "database
unavailable" and leaves the pool, as SQLAlchemy's own execute would have it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_devstack.postgres import PostgresServer, ensure_databases
from divert_kernel.aggregate import Aggregate
from divert_kernel.db import create_kernel_tables, make_engine
from divert_kernel.events import Event
from divert_kernel.problems import _is_database_unavailable
from divert_kernel.uow import UnitOfWork

JURISDICTION = "seattle-king-county"


class Touched(Event):
    service = "driverprobe"
    of: str


class Echo(Aggregate):
    stream_prefix = "driverprobe"

    def echo(self, of: str) -> None:
        self._record(Touched(of=of))

    def apply(self, event: Event) -> None:
        pass


@pytest.fixture
async def engine(postgres: PostgresServer) -> AsyncIterator[AsyncEngine]:
    name = f"kernel_driver_{uuid4().hex[:10]}"
    await ensure_databases(postgres.url("postgres", driver="postgresql"), [name])
    engine = make_engine(postgres.url(name), pool_size=1)
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: create_kernel_tables(Operations(MigrationContext.configure(c))))
    yield engine
    await engine.dispose()


async def _append(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine, "driverprobe") as uow:
        echo = Echo(str(uuid4()), JURISDICTION)
        uow.add(echo)
        echo.echo("one")
        await uow.commit()


async def test_an_append_on_a_lost_connection_is_unavailable_and_the_next_one_reconnects(engine: AsyncEngine) -> None:
    await _append(engine)  # the pool's one connection, warm
    async with engine.connect() as conn:
        pid = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar()
    async with make_engine(str(engine.url.render_as_string(hide_password=False))).connect() as admin:
        await admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(sa_exc.DBAPIError) as raised:
        await _append(engine)  # the append is the unit of work's first statement: BEGIN and all on the driver
    assert raised.value.connection_invalidated and _is_database_unavailable(raised.value)
    await _append(engine)  # the dead connection left the pool
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT count(*) FROM events"))).scalar() == 2
