"""The transaction a gateway-served command runs in.

A POST carrying `Idempotency-Key` runs with its key claimed and its answer recorded in one transaction with its
effect (entrypoints/keyed.py). The store functions take that transaction when one is open, and otherwise a
transaction of their own, so the same function serves keyed and unkeyed requests.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_open: ContextVar[AsyncConnection | None] = ContextVar("divert_gateway_tx", default=None)


@contextlib.asynccontextmanager
async def begin(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The open command transaction (its owner commits), or a new one committed on leaving."""
    conn = _open.get()
    if conn is not None:
        yield conn
        return
    async with engine.begin() as own:
        yield own


@contextlib.asynccontextmanager
async def command(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Open the command transaction for the duration; rolled back unless the caller commits it."""
    async with engine.connect() as conn:
        await conn.begin()
        token = _open.set(conn)
        try:
            yield conn
        finally:
            _open.reset(token)
            if conn.in_transaction():
                await conn.rollback()
