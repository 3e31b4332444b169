"""What the operations commands share: the target's databases, one short-lived engine at a time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from divert_cli import target

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)


def asyncpg_url(url: str) -> str:
    """The URL with the asyncpg driver, whichever PostgreSQL spelling the operator gave."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    return url


@contextlib.asynccontextmanager
async def engine(database: str, deployment: target.Target) -> AsyncIterator[AsyncEngine]:
    try:
        url = deployment.database_url(database)
    except target.TargetError as exc:
        fail(str(exc), code=2)
    # NullPool: a command opens few connections and must leave none behind in the operator's database.
    made = create_async_engine(asyncpg_url(url), poolclass=NullPool)
    try:
        yield made
    finally:
        await made.dispose()


def deployment() -> target.Target:
    try:
        return target.load()
    except target.TargetError as exc:
        fail(str(exc), code=2)
        raise  # unreachable: fail() exits


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's work; a database or bus that cannot be reached is a message and exit status 2, not a
    traceback (the class only: a driver's message may carry a URL with its password)."""
    try:
        return asyncio.run(coro)
    except (OSError, TimeoutError, DBAPIError) as exc:
        fail(f"cannot reach the deployment ({type(exc).__name__}): is it up, and are the DIVERT_* URLs right?", code=2)
        raise


def fail(message: str, code: int = 1) -> None:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def check_service(service: str, allowed: tuple[str, ...]) -> str:
    if service not in allowed:
        fail(f"--service must be one of {', '.join(allowed)} (got {service!r})", code=2)
    return service


@contextlib.asynccontextmanager
async def bus(deployment: target.Target) -> AsyncIterator[Any]:
    """A NATS client on the operator's URL (every permission), or None when the target names no NATS."""
    import nats

    from divert_kernel.bus import servers  # one URL, or a cluster's URLs separated by commas

    if not deployment.nats_url:
        yield None
        return

    async def quiet(exc: Exception) -> None:  # the outcome is reported by the caller, not as a traceback
        return None

    client = await nats.connect(
        servers(deployment.nats_url), connect_timeout=3, allow_reconnect=False, max_reconnect_attempts=0, error_cb=quiet
    )
    try:
        yield client
    finally:
        await client.close()
