"""Rate limits at the edge: per client and class of route, and failed client authentications at /oauth/token.

Counted with the `limits` library's fixed windows in the gateway's PostgreSQL (adapters.ratelimits), so every
replica shares them. The per-client classes (reads, writes, exports) are counted in memory between syncs every
`rate_limit_sync_seconds` (adapters.ratecounts: exact on one replica; across replicas a client may exceed a limit
by what the other replicas admitted for it within one interval); the token class and the failed-authentication
lockouts are written through on every count, exact across replicas. Every limited response carries the IETF `RateLimit-Policy` and `RateLimit` fields
(draft-ietf-httpapi-ratelimit-headers, structured-field lists: `"reads";q=600;w=60` and `"reads";r=599;t=42`);
a refusal is 429 problem+json with `Retry-After`. A request without a valid token counts against its remote
address. If the counters cannot be reached the request goes on unlimited: throttling protects the services; it
must not become the outage.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from divert_gateway.adapters.ratecounts import BatchedCounts
from divert_gateway.adapters.ratelimits import PostgresStorage
from divert_gateway.config import GatewaySettings
from divert_gateway.entrypoints import token_form
from divert_gateway.entrypoints.proxy import client_of
from divert_kernel.clock import Clock
from divert_kernel.problems import PROBLEM_JSON

log = logging.getLogger("divert.gateway.ratelimit")

TOKEN_PATH = "/oauth/token"
# Whole-caseload documents and the audit chain's verification: one call costs what hundreds of reads do.
_EXPORTS = re.compile(r"^/v1/(participants/export|owg/(agenda|roster)|audit/verification|evaluation/extracts)/?$")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
        self.counts = BatchedCounts(storage, settings.rate_limit_sync_seconds)
        self.strategy = FixedWindowRateLimiter(storage)
        self.clock = clock
        self.classes = {name: parse(limit) for name, limit in settings.rate_limits.items()}
        self.failures = {
            "failed-auth-client-address": parse(settings.token_failures_per_client_address),
            "failed-auth-address": parse(settings.token_failures_per_address),
            "failed-auth-client": parse(settings.token_failures_per_client),
        }

    async def _window(self, policy: str, item: RateLimitItem, who: str, allowed: bool) -> Window:
        stats = await self.strategy.get_window_stats(item, policy, who)
        reset = max(0, math.ceil(stats.reset_time - self.clock.now().timestamp()))
        return Window(policy, item.amount, item.get_expiry(), stats.remaining, reset, allowed)

    async def hit(self, policy: str, who: str) -> Window:
        """Count one request: the fixed window `limits` keeps. The token class is read by the lockout checks
        straight from PostgreSQL, so it is written through; the others are counted in memory between syncs."""
        item = self.classes[policy]
        counter = self.storage if policy == "token" else self.counts
        count, ends = await counter.hit(item.key_for(policy, who), item.get_expiry())
        reset = max(0, math.ceil(ends.timestamp() - self.clock.now().timestamp()))
        remaining = max(0, item.amount - count)
        return Window(policy, item.amount, item.get_expiry(), remaining, reset, allowed=count <= item.amount)

    async def _spent(self, policy: str, item: RateLimitItem, who: str) -> Window | None:
        if await self.strategy.test(item, policy, who):
            return None
        return await self._window(policy, item, who, allowed=False)

    async def locked_out(self, client_id: str | None, address: str) -> Window | None:
        """What refuses this address outright: its failures (for this client id, or any), or its token budget for
        requests that did not authenticate. Every window here is the caller's own address's."""
        checks = [("failed-auth-address", self.failures["failed-auth-address"], address)]
        unauthenticated = [(f"address:{address}", address)]
        if client_id is not None:
            pair = f"{client_id}@{address}"
            checks.insert(0, ("failed-auth-client-address", self.failures["failed-auth-client-address"], pair))
            unauthenticated.append((f"pair:{pair}", pair))
        for policy, item, who in checks:
            if (spent := await self._spent(policy, item, who)) is not None:
                return spent
        for who, _ in unauthenticated:
            if (spent := await self._spent("token", self.classes["token"], who)) is not None:
                return spent
        return None

    async def delaying(self, client_id: str | None) -> bool:
        """Whether the client id's failures from every address are past the slower threshold."""
        item = self.failures["failed-auth-client"]
        return client_id is not None and not await self.strategy.test(item, "failed-auth-client", client_id)

    def delay_window(self) -> Window:
        """Retry-After for a delayed attempt: the whole window, never the time left on another's count."""
        item = self.failures["failed-auth-client"]
        return Window("failed-auth-client", item.amount, item.get_expiry(), 0, item.get_expiry(), False)

    async def failed_here_before(self, client_id: str, address: str) -> bool:
        item = self.failures["failed-auth-client-address"]
        stats = await self.strategy.get_window_stats(item, "failed-auth-client-address", f"{client_id}@{address}")
        return stats.remaining < item.amount

    async def failed(self, client_id: str | None, address: str) -> None:
        if client_id is not None:
            await self.strategy.hit(
                self.failures["failed-auth-client-address"], "failed-auth-client-address", f"{client_id}@{address}"
            )
            await self.strategy.hit(self.failures["failed-auth-client"], "failed-auth-client", client_id)
        await self.strategy.hit(self.failures["failed-auth-address"], "failed-auth-address", address)

    async def unauthenticated(self, client_id: str | None, address: str) -> Window:
        """Count a token request that did not authenticate: per address and per (client id, address), never
        against the client's own budget (a stranger naming it must not spend it). The narrower window answers."""
        window = await self.hit("token", f"address:{address}")
        if client_id is not None:
            window = await self.hit("token", f"pair:{client_id}@{address}")
        return window


def too_many(window: Window, detail: str, *, fields: bool = True) -> list[Message]:
    """429 problem+json; without the RateLimit fields when the window counted is not the caller's to read."""
    body = json.dumps({"type": "about:blank", "title": "Too Many Requests", "status": 429, "detail": detail}).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(max(1, window.reset)).encode()),
        *(window.headers() if fields else []),
    ]
    return [
        {"type": "http.response.start", "status": 429, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


def oauth_error(status: int, error: str, description: str) -> list[Message]:
    """An RFC 6749 §5.2 error, as the token endpoint itself answers one."""
    body = json.dumps({"error": error, "error_description": description}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"pragma", b"no-cache"),
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
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
        body = await token_form.read_body(receive)
        pairs = token_form.form_pairs(body)
        twice = token_form.repeated(name for name, _ in pairs)
        if twice is not None:  # refused before anything is counted or authenticated, as the endpoint would
            await _send_all(send, oauth_error(400, "invalid_request", f"the {twice} parameter is repeated"))
            return
        client_id = token_form.client_id(dict(scope.get("headers") or []), pairs)
        address = _address(scope)
        try:
            locked = await limiter.locked_out(client_id, address)
            delaying = locked is None and await limiter.delaying(client_id)
        except StorageError as exc:
            _unavailable(exc)
            await self.app(scope, token_form.replay(body, receive), send)
            return
        if locked is not None:
            await _send_all(send, too_many(locked, "too many failed or unauthenticated token requests from here"))
            return
        answer = _Buffered()
        await self.app(scope, token_form.replay(body, receive), answer)
        try:
            messages = await _settle_token(limiter, answer, client_id, address, delaying)
        except StorageError as exc:
            _unavailable(exc)
            messages = answer.messages
        await _send_all(send, messages)


async def _settle_token(
    limiter: Limiter, answer: _Buffered, client_id: str | None, address: str, delaying: bool
) -> list[Message]:
    """Count a served token request by what it turned out to be, and what the caller may see of it."""
    # Past the client id's slower threshold: failing attempts wait; the count (any address) is not the caller's.
    delayed = too_many(limiter.delay_window(), "too many failed client authentications; retry later", fields=False)
    if answer.status == 200 and client_id is not None:
        if delaying and await limiter.failed_here_before(client_id, address):
            return delayed
        window = await limiter.hit("token", f"client:{client_id}")  # authenticated: its own budget, its own fields
        if not window.allowed:
            return too_many(window, "the token limit for this client is spent; retry later")
        return answer.with_headers(window)
    if answer.authentication_failed():
        await limiter.failed(client_id, address)
    window = await limiter.unauthenticated(client_id, address)
    if delaying:
        return delayed
    return answer.with_headers(window)


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


class _Buffered:
    """Keeps a (small) token response whole, to count it by its outcome and answer accordingly."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.status = 0
        self.body = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
        self.messages.append(message)

    def with_headers(self, window: Window) -> list[Message]:
        return [
            {**m, "headers": [*m.get("headers", []), *window.headers()]} if m["type"] == "http.response.start" else m
            for m in self.messages
        ]

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


def _with_headers(send: Send, window: Window) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *window.headers()]}
        await send(message)

    return sending


async def _send_all(send: Send, messages: list[Message]) -> None:
    for message in messages:
        await send(message)
