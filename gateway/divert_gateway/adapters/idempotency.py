"""Idempotency-Key records in the gateway's database: one answer per (client, key), replayed on retries."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

# Keys and their recorded answers live a day (every claim purges the expired ones, whoever they belong to);
# a request left in progress for a minute (its gateway died) may be taken over by a retry.
_EXPIRE = sa.text(
    "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours' "
    "OR (client_id = :client_id AND key = :key AND state = 'in_progress' "
    "    AND created_at < now() - interval '60 seconds')"
)
_CLAIM = sa.text(
    "INSERT INTO idempotency_keys (client_id, key, request_sha256, state) "
    "VALUES (:client_id, :key, :request_sha256, 'in_progress') ON CONFLICT DO NOTHING RETURNING 1"
)
_FIND = sa.text(
    "SELECT request_sha256, state, status, body, content_type, location FROM idempotency_keys "
    "WHERE client_id = :client_id AND key = :key"
)
_DONE = sa.text(
    "UPDATE idempotency_keys SET state = 'done', status = :status, body = :body, content_type = :content_type, "
    "location = :location WHERE client_id = :client_id AND key = :key"
)
_RELEASE = sa.text("DELETE FROM idempotency_keys WHERE client_id = :client_id AND key = :key AND state = 'in_progress'")


@dataclass(frozen=True)
class Recorded:
    request_sha256: str
    state: str
    status: int | None
    body: bytes | None
    content_type: str | None
    location: str | None


async def claim(engine: AsyncEngine, client_id: str, key: str, request_sha256: str) -> Recorded | None:
    """None if this request now owns the key; otherwise what is recorded under it."""
    params = {"client_id": client_id, "key": key, "request_sha256": request_sha256}
    async with engine.begin() as conn:
        await conn.execute(_EXPIRE, params)
        if (await conn.execute(_CLAIM, params)).first() is not None:
            return None
        row = (await conn.execute(_FIND, params)).first()
    if row is None:  # expired between the two statements: the caller may simply retry
        return Recorded(request_sha256, "in_progress", None, None, None, None)
    return Recorded(row.request_sha256, row.state, row.status, row.body, row.content_type, row.location)


async def complete(
    engine: AsyncEngine,
    client_id: str,
    key: str,
    status: int,
    body: bytes,
    content_type: str | None,
    location: str | None,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            _DONE,
            {
                "client_id": client_id,
                "key": key,
                "status": status,
                "body": body,
                "content_type": content_type,
                "location": location,
            },
        )


async def release(engine: AsyncEngine, client_id: str, key: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(_RELEASE, {"client_id": client_id, "key": key})
