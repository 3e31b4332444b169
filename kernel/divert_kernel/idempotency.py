"""Idempotency-Key, kept by each service in the same transaction as the command's effect.

A POST carrying `Idempotency-Key` runs its command with the key claimed inside the command's transaction; the
response is recorded in that same transaction, just before it commits. A retry (after a gateway timeout, after the
gateway died, from the partner itself) finds the record and gets the recorded response, so the command acts at
most once per (client, key). A concurrent duplicate waits on the key's unique index and then replays. A refusal
that rolls back records nothing, so the key stays free. Records are purged after a day.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from divert_kernel import problems
from divert_kernel.errors import Conflict, InvalidInput
from divert_kernel.text_guard import buffered_body

if TYPE_CHECKING:
    from divert_kernel.uow import UnitOfWork

log = logging.getLogger("divert.idempotency")

HEADER = "Idempotency-Key"
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
KEEP = "24 hours"

_CLAIM = sa.text(
    "INSERT INTO idempotency_records (client_id, key, request_sha256) VALUES (:client_id, :key, :sha) "
    "ON CONFLICT DO NOTHING RETURNING 1"
)
_FIND = sa.text(
    "SELECT request_sha256, status, body, content_type, location FROM idempotency_records "
    "WHERE client_id = :client_id AND key = :key"
)
_RECORD = sa.text(
    "UPDATE idempotency_records SET status = :status, body = :body, content_type = :content_type, "
    "location = :location WHERE client_id = :client_id AND key = :key"
)
_PURGE = sa.text(f"DELETE FROM idempotency_records WHERE created_at < now() - interval '{KEEP}'")


@dataclass
class KeyedRequest:
    """The key and request fingerprint of the POST being served; `pending` is its open unit of work."""

    key: str
    fingerprint: str
    client_id: str | None = None
    pending: UnitOfWork | None = None


_current: ContextVar[KeyedRequest | None] = ContextVar("divert_idempotency", default=None)


def current() -> KeyedRequest | None:
    return _current.get()


class Replayed(Exception):
    """The key was used for this very request before: answer what was answered then.

    A plain exception, not a frozen dataclass: raising sets `__traceback__`, which a frozen one refuses.
    """

    def __init__(self, status: int, body: bytes, content_type: str | None, location: str | None) -> None:
        super().__init__(status)
        self.status, self.body, self.content_type, self.location = status, body, content_type, location


async def claim(conn: AsyncConnection, client_id: str, keyed: KeyedRequest) -> None:
    """Claim the key inside the command's transaction, or raise Replayed / InvalidInput."""
    params = {"client_id": client_id, "key": keyed.key, "sha": keyed.fingerprint}
    if (await conn.execute(_CLAIM, params)).first() is not None:
        return
    row = (await conn.execute(_FIND, params)).first()
    if row is not None and row.request_sha256 != keyed.fingerprint:
        raise InvalidInput(f"this {HEADER} was used for a different request", field=HEADER)
    if row is None or row.status is None:  # purged or recorded without an answer: never committed that way
        raise Conflict(f"a request with this {HEADER} is being processed; retry shortly", field=HEADER)
    raise Replayed(row.status, bytes(row.body or b""), row.content_type, row.location)


async def record(conn: AsyncConnection, keyed: KeyedRequest, status: int, body: bytes, headers: dict[str, str]) -> None:
    params = {
        "client_id": keyed.client_id,
        "key": keyed.key,
        "status": status,
        "body": body,
        "content_type": headers.get("content-type"),
        "location": headers.get("location"),
    }
    await conn.execute(_RECORD, params)


async def purge(engine: AsyncEngine) -> int:
    """Forget records older than a day; returns how many."""
    async with engine.begin() as conn:
        return (await conn.execute(_PURGE)).rowcount


async def purge_periodically(app: FastAPI, every: float = 3600) -> None:
    while True:
        await purge(app.state.engine)
        await asyncio.sleep(every)


def install(app: FastAPI) -> None:
    @app.exception_handler(Replayed)
    async def _replay(_: Request, exc: Replayed) -> Response:
        headers = {"Idempotent-Replayed": "true"}
        if exc.content_type:
            headers["content-type"] = exc.content_type
        if exc.location:
            headers["location"] = exc.location
        return Response(content=exc.body, status_code=exc.status, headers=headers)


class IdempotencyKeys:
    """ASGI middleware: marks a keyed POST for the bus, then commits its effect together with its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = dict(scope.get("headers") or []).get(b"idempotency-key") if scope["type"] == "http" else None
        if raw_key is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not KEY.match(key):
            await _refuse(scope, receive, send)
            return
        body, receive = await buffered_body(receive)
        keyed = KeyedRequest(key, _fingerprint(scope, body))
        token = _current.set(keyed)
        try:
            await self.app(scope, receive, _Deferred(keyed, send))
        finally:
            _current.reset(token)
            if keyed.pending is not None:  # the app failed before answering: nothing is committed
                await keyed.pending.close()


def _fingerprint(scope: Scope, body: bytes) -> str:
    target = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    return hashlib.sha256(b"POST " + target + (b"?" + query if query else b"") + b"\n" + body).hexdigest()


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    reply = problems.problem(422, "Invalid request", f"{HEADER} is 1 to 255 visible ASCII characters", field=HEADER)
    await reply(scope, receive, send)


class _Deferred:
    """Holds the response of a keyed command until its record and effect are committed together."""

    def __init__(self, keyed: KeyedRequest, send: Send) -> None:
        self._keyed = keyed
        self._send = send
        self._held: list[Message] = []

    async def __call__(self, message: Message) -> None:
        if self._keyed.pending is None:
            await self._send(message)
            return
        self._held.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            await self._release()

    async def _release(self) -> None:
        start = self._held[0]
        status = int(start["status"])
        uow, self._keyed.pending = self._keyed.pending, None
        assert uow is not None
        try:
            if status < 500:
                body = b"".join(m.get("body", b"") for m in self._held[1:])
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
                await record(uow.conn, self._keyed, status, body, headers)
                await uow.commit()
        except Exception as exc:  # noqa: BLE001 - whatever failed, nothing was committed: say so, never 200
            log.warning("keyed_command_not_committed", extra={"error": type(exc).__name__})
            self._held = _unavailable()
        finally:
            await uow.close()
        for message in self._held:
            await self._send(message)


def _unavailable() -> list[Message]:
    reply = problems.problem(503, "Unavailable", "the change could not be saved; retry with the same key")
    return [
        {"type": "http.response.start", "status": 503, "headers": reply.raw_headers},
        {"type": "http.response.body", "body": reply.body},
    ]
