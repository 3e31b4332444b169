"""Idempotency-Key answers of the gateway's own POSTs, claimed and recorded inside the command's transaction.

The same contract as the services' (divert_kernel.idempotency): the first request with a key acts and its answer
is recorded with its effect; the same key with the same request replays that answer; with another request it is
refused (422 naming `Idempotency-Key`); a concurrent duplicate waits on the key's row, then replays. A refusal
rolls back and records nothing, so the key stays free.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from divert_kernel.errors import Conflict, InvalidInput

HEADER = "Idempotency-Key"

_PURGE = sa.text(
    "DELETE FROM idempotency_answers WHERE client_id = :client_id AND created_at < now() - interval '24 hours'"
)
_CLAIM = sa.text(
    "INSERT INTO idempotency_answers (client_id, key, request_sha256) VALUES (:client_id, :key, :sha) "
    "ON CONFLICT DO NOTHING RETURNING 1"
)
_FIND = sa.text(
    "SELECT request_sha256, status, body, content_type FROM idempotency_answers "
    "WHERE client_id = :client_id AND key = :key"
)
_RECORD = sa.text(
    "UPDATE idempotency_answers SET status = :status, body = :body, content_type = :content_type "
    "WHERE client_id = :client_id AND key = :key"
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str | None


async def claim(conn: AsyncConnection, client_id: str, key: str, sha: str) -> Answer | None:
    """None: this request may act. An Answer: it acted before, answer the same. Raises on a reused key."""
    params = {"client_id": client_id, "key": key, "sha": sha}
    await conn.execute(_PURGE, params)
    if (await conn.execute(_CLAIM, params)).first() is not None:
        return None
    row = (await conn.execute(_FIND, params)).first()
    if row is not None and row.request_sha256 != sha:
        raise InvalidInput(f"this {HEADER} was used for a different request", field=HEADER)
    if row is None or row.status is None:
        raise Conflict(f"a request with this {HEADER} is being processed; retry shortly", field=HEADER)
    return Answer(row.status, bytes(row.body or b""), row.content_type)


async def record(conn: AsyncConnection, client_id: str, key: str, answer: Answer) -> None:
    params = {"client_id": client_id, "key": key, "status": answer.status, "body": answer.body}
    await conn.execute(_RECORD, {**params, "content_type": answer.content_type})
