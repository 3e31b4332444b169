"""Rate limits at the edge: per client and class of route, and failed client authentications at /oauth/token.

Counted with the `limits` library's fixed windows in the gateway's PostgreSQL (adapters.ratelimits), so every
replica shares them. Every limited response carries the IETF `RateLimit-Policy` and `RateLimit` fields
(draft-ietf-httpapi-ratelimit-headers, structured-field lists: `"reads";q=600;w=60` and `"reads";r=599;t=42`);
a refusal is 429 problem+json with `Retry-After`. A request without a valid token counts against its remote
address. If the counters cannot be reached the request goes on unlimited: throttling protects the services; it
must not become the outage.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from limits import RateLimitItem, parse
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from divert_gateway.adapters.ratelimits import PostgresStorage
from divert_gateway.config import GatewaySettings
from divert_gateway.entrypoints.proxy import client_of
from divert_kernel.clock import Clock
from divert_kernel.problems import PROBLEM_JSON

log = logging.getLogger("divert.gateway.ratelimit")

TOKEN_PATH = "/oauth/token"
# Whole-caseload documents and the audit chain's verification: one call costs what hundreds of reads do.
_EXPORTS = re.compile(r"^/v1/(participants/export|owg/(agenda|roster)|audit/verification)/?$")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,200}$")


def route_class(method: str, path: str) -> str | None:
    """The class of route a request counts against; None for what is not limited (docs, keys, health)."""
    if path == TOKEN_PATH:
        return "token"
    if not path.startswith("/v1/"):
        return None
    if _EXPORTS.match(path):
        return "exports"
    return "reads" if method in _READ_METHODS else "writes"


@dataclass(frozen=True)
class Window:
    """One policy's state after a request: what the RateLimit fields say about it."""

    policy: str
    quota: int
    seconds: int
    remaining: int
    reset: int
    allowed: bool

    def headers(self) -> list[tuple[bytes, bytes]]:
        fields = [
            (b"ratelimit-policy", f'"{self.policy}";q={self.quota};w={self.seconds}'),
            (b"ratelimit", f'"{self.policy}";r={self.remaining};t={self.reset}'),
        ]
        return [(name, value.encode()) for name, value in fields]


class Limiter:
    """The gateway's limits, counted in a storage every replica shares."""

    def __init__(self, storage: PostgresStorage, settings: GatewaySettings, clock: Clock) -> None:
        self.storage = storage
        self.strategy = FixedWindowRateLimiter(storage)
        self.clock = clock
        self.classes = {name: parse(limit) for name, limit in settings.rate_limits.items()}
        self.failures = {
            "failed-auth-client": parse(settings.token_failures_per_client),
            "failed-auth-address": parse(settings.token_failures_per_address),
        }

    async def _window(self, policy: str, item: RateLimitItem, who: str, allowed: bool) -> Window:
        stats = await self.strategy.get_window_stats(item, policy, who)
        reset = max(0, math.ceil(stats.reset_time - self.clock.now().timestamp()))
        return Window(policy, item.amount, item.get_expiry(), stats.remaining, reset, allowed)

    async def hit(self, policy: str, who: str) -> Window:
        """Count one request: the fixed window `limits` keeps, answered from the counting statement itself."""
        item = self.classes[policy]
        count, ends = await self.storage.hit(item.key_for(policy, who), item.get_expiry())
        reset = max(0, math.ceil(ends.timestamp() - self.clock.now().timestamp()))
        remaining = max(0, item.amount - count)
        return Window(policy, item.amount, item.get_expiry(), remaining, reset, allowed=count <= item.amount)

    async def locked_out(self, client_id: str | None, address: str) -> Window | None:
        """The failed-authentication window that is spent for this client id or address, if any."""
        for policy, who in (("failed-auth-client", client_id), ("failed-auth-address", address)):
            if who is not None and not await self.strategy.test(self.failures[policy], policy, who):
                return await self._window(policy, self.failures[policy], who, allowed=False)
        return None

    async def failed(self, client_id: str | None, address: str) -> None:
        if client_id is not None:
            await self.strategy.hit(self.failures["failed-auth-client"], "failed-auth-client", client_id)
        await self.strategy.hit(self.failures["failed-auth-address"], "failed-auth-address", address)


def too_many(window: Window, detail: str) -> list[Message]:
    body = json.dumps({"type": "about:blank", "title": "Too Many Requests", "status": 429, "detail": detail}).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(max(1, window.reset)).encode()),
        *window.headers(),
    ]
    return [
        {"type": "http.response.start", "status": 429, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


class RateLimits:
    """ASGI middleware: count, refuse past the limit, and tell the client where it stands on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = route_class(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        limiter: Limiter | None = getattr(scope["app"].state, "rate_limiter", None) if policy else None
        if policy is None or limiter is None:
            await self.app(scope, receive, send)
            return
        if policy == "token":
            await self._token(limiter, scope, receive, send)
            return
        window: Window | None = None
        try:
            window = await limiter.hit(policy, _caller(scope))
        except StorageError as exc:
            _unavailable(exc)
        await _answer(self.app, scope, receive, send, window, f"the {policy} limit for this client is spent")

    async def _token(self, limiter: Limiter, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        replay = _replay(body, receive)
        client_id = _token_client_id(scope, body)
        address = _address(scope)
        try:
            locked = await limiter.locked_out(client_id, address)
            who = f"client:{client_id}" if client_id else f"address:{address}"
            window = None if locked else await limiter.hit("token", who)
        except StorageError as exc:
            _unavailable(exc)
            locked = window = None
        if locked is not None:
            await _send_all(
                send, too_many(locked, "too many failed client authentications; retry after the window ends")
            )
            return
        answer = _Captured(send)
        await _answer(self.app, scope, replay, answer, window, "the token limit for this client is spent")
        if answer.authentication_failed():
            try:
                await limiter.failed(client_id, address)
            except StorageError as exc:
                _unavailable(exc)


def _unavailable(exc: StorageError) -> None:
    log.warning("rate_limit_counters_unavailable", extra={"error": type(exc.storage_error).__name__})


async def _answer(app: ASGIApp, scope: Scope, receive: Receive, send: Send, window: Window | None, spent: str) -> None:
    """Refuse past the limit; otherwise serve, with the window's fields (none when it could not be counted)."""
    if window is None:
        await app(scope, receive, send)
    elif not window.allowed:
        await _send_all(send, too_many(window, f"{spent}; retry later"))
    else:
        await app(scope, receive, _with_headers(send, window))


class _Captured:
    """Passes a response on, keeping its status and (small) body to see whether client authentication failed."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 0
        self.body = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body" and len(self.body) < 4096:
            self.body += message.get("body", b"")
        await self.send(message)

    def authentication_failed(self) -> bool:
        if self.status == 401:
            return True
        try:
            return self.status == 400 and json.loads(self.body).get("error") == "invalid_client"
        except (ValueError, AttributeError):
            return False


def _caller(scope: Scope) -> str:
    client = client_of(Request(scope))
    return f"client:{client}" if client else f"address:{_address(scope)}"


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _token_client_id(scope: Scope, body: bytes) -> str | None:
    """The client id a token request names (form or HTTP Basic), whatever its secret."""
    try:
        form = parse_qs(body.decode(), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        form = {}
    named = (form.get("client_id") or [None])[0]
    if named:
        return _as_key(named)
    headers = dict(scope.get("headers") or [])
    scheme, _, encoded = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return _as_key(unquote(decoded.partition(":")[0]))


def _as_key(client_id: str) -> str | None:
    """A client id fit to key a count by (the token endpoint itself refuses the others)."""
    return client_id if _CLIENT_ID.match(client_id) else None


async def _read_body(receive: Receive) -> bytes:
    # Bounded: BodySizeLimit, outside this middleware, refuses what is too large before it gets here.
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read once, then the connection's own messages (a real disconnect, when it comes)."""
    sent = False

    async def replaying() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying


def _with_headers(send: Send, window: Window) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *window.headers()]}
        await send(message)

    return sending


async def _send_all(send: Send, messages: list[Message]) -> None:
    for message in messages:
        await send(message)
