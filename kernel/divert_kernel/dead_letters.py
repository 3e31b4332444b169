"""Dead letters: events a consumer gave up on, and the operator's way back (list, retry, discard).

A retry is a request, not an action: `request_retry` marks the row, and the consumer that dead-lettered the
event claims it (`claim_retry`) and runs it through its own handler path, where the processed-event claim makes
its effect land once. Success removes the dead letter (`resolved`); another failure keeps it, with the new error
and one more attempt (`failed_again`). Events carry no personal data, so neither do these rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncConnection

_HAS_RETRY_COLUMN = sa.text(
    "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
    "AND table_name = 'dead_letters' AND column_name = 'retry_requested_at'"
)
_LIST = (
    "SELECT id, consumer, event_id, subject, envelope, error, attempts, failed_at, {retry} AS retry_requested_at "
    "FROM dead_letters {where} ORDER BY id LIMIT :limit"
)
_REQUEST = sa.text(
    "UPDATE dead_letters SET retry_requested_at = now() WHERE (CAST(:all AS boolean) OR id = ANY(:ids)) RETURNING id"
)
_DISCARD = sa.text("DELETE FROM dead_letters WHERE (CAST(:all AS boolean) OR id = ANY(:ids)) RETURNING id")
# One replica claims a request (SKIP LOCKED); clearing the mark is the claim, so a retry runs once.
_CLAIM = sa.text(
    "UPDATE dead_letters SET retry_requested_at = NULL WHERE id = ("
    " SELECT id FROM dead_letters WHERE consumer = :consumer AND retry_requested_at IS NOT NULL"
    " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
    ") RETURNING id, event_id, envelope"
)
# The same event may have been dead-lettered more than once (e.g. a replayed durable): one success settles all.
_RESOLVED = sa.text("DELETE FROM dead_letters WHERE id = :id OR (consumer = :consumer AND event_id = :event_id)")
_FAILED_AGAIN = sa.text(
    "UPDATE dead_letters SET error = :error, attempts = attempts + 1, failed_at = now() WHERE id = :id"
)


@dataclass(frozen=True)
class DeadLetter:
    id: int
    consumer: str
    event_id: str
    subject: str
    event_type: str | None
    error: str
    attempts: int
    failed_at: datetime
    retry_requested_at: datetime | None


@dataclass(frozen=True)
class Claimed:
    id: int
    event_id: str
    envelope: str


def error_text(exc: BaseException) -> str:
    """The error as kept: its class, never its message, which may quote what it was about (a pydantic error's
    `input_value=…`, a driver's statement parameters, a name in a handler's ValueError). A validation error keeps
    where and which kind (`participant.name: string_too_long`); a database error the driver's class and SQLSTATE."""
    kind = type(exc).__name__
    if isinstance(exc, ValidationError):
        where = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['type']}" for e in exc.errors())
        return f"{kind}: {where}"[:1000]
    if isinstance(exc, StatementError) and exc.orig is not None:
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return f"{kind}: {type(exc.orig).__name__}" + (f" (SQLSTATE {state})" if state else "")
    return kind


def _event_type(envelope: str) -> str | None:
    try:
        kind = json.loads(envelope).get("type")
    except (ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


async def retries_supported(conn: AsyncConnection) -> bool:
    """Whether this database has the kernel's retry column (a database without kernel migrations does not)."""
    return (await conn.execute(_HAS_RETRY_COLUMN)).first() is not None


async def listing(conn: AsyncConnection, ids: Sequence[int] = (), limit: int = 1000) -> list[DeadLetter]:
    retry = "retry_requested_at" if await retries_supported(conn) else "NULL::timestamptz"
    where = "WHERE id = ANY(:ids)" if ids else ""
    params: dict[str, object] = {"limit": limit} | ({"ids": list(ids)} if ids else {})
    rows = await conn.execute(sa.text(_LIST.format(retry=retry, where=where)), params)
    return [
        DeadLetter(
            int(r.id),
            r.consumer,
            r.event_id,
            r.subject,
            _event_type(r.envelope),
            r.error,
            int(r.attempts),
            r.failed_at,
            r.retry_requested_at,
        )
        for r in rows
    ]


async def request_retry(conn: AsyncConnection, ids: Sequence[int], *, every: bool = False) -> list[int]:
    rows = await conn.execute(_REQUEST, {"all": every, "ids": list(ids)})
    return sorted(int(r.id) for r in rows)


async def discard(conn: AsyncConnection, ids: Sequence[int], *, every: bool = False) -> list[int]:
    rows = await conn.execute(_DISCARD, {"all": every, "ids": list(ids)})
    return sorted(int(r.id) for r in rows)


async def claim_retry(conn: AsyncConnection, consumer: str) -> Claimed | None:
    row = (await conn.execute(_CLAIM, {"consumer": consumer})).first()
    return Claimed(int(row.id), row.event_id, row.envelope) if row is not None else None


async def resolved(conn: AsyncConnection, claimed: Claimed, consumer: str) -> None:
    await conn.execute(_RESOLVED, {"id": claimed.id, "consumer": consumer, "event_id": claimed.event_id})


async def failed_again(conn: AsyncConnection, claimed: Claimed, exc: BaseException) -> None:
    await conn.execute(_FAILED_AGAIN, {"id": claimed.id, "error": error_text(exc)})
