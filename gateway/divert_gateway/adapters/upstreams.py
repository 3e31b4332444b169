"""One service's replicas as the gateway calls them: each request to the next replica in turn, with failover.

A replica that refuses the connection (killed, restarting, or not yet listening) or does not accept it in time
is skipped and the same request goes to the next: nothing reached the refusing one, so even a POST is safe to
send again. Anything after the connection (the replica dies mid-request, or does not answer in time) is not
retried here; the caller gets 503 and retries with its Idempotency-Key, which the service honours once.

The proxy's own requests (`forward`) go through one pooled aiohttp session per replica, made once and reused:
the gateway's profile found httpx's per-request machinery (anyio, httpcore, h11) about a quarter of the gateway's
CPU at 15 referrals/s, and aiohttp sends the same request for a fraction of it. The occasional calls (readiness,
the merged OpenAPI document) keep httpx, whose responses they read.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from multidict import CIMultiDictProxy
from yarl import URL

NOT_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout)
# aiohttp's "nothing reached the replica": refused, unresolvable, or not accepted in time.
FORWARD_NOT_CONNECTED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
# Headers aiohttp would add on its own: the proxy passes on exactly what the caller sent (and no compression).
_NOT_ADDED = frozenset({"Content-Type", "User-Agent", "Accept-Encoding"})


@dataclass(frozen=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class Replicas:
    """Duck-types the part of `httpx.AsyncClient` the gateway uses: `request`, `get`, `aclose`."""

    def __init__(self, urls: Sequence[str], **client_options: Any) -> None:
        if not urls:
            raise ValueError("a service needs at least one URL")
        self._urls = [URL(url) for url in urls]
        self._clients = [httpx.AsyncClient(base_url=url, **client_options) for url in urls]
        self._turn = itertools.count()
        self._sessions: list[aiohttp.ClientSession] = []  # made on first use, inside the running event loop
        limits = client_options.get("limits")
        self._pool = {
            "limit": (limits.max_connections if limits else None) or 100,
            "keepalive_timeout": (limits.keepalive_expiry if limits else None) or 2.0,
        }
        self._timeout = client_options.get("timeout", 15.0)

    def __len__(self) -> int:
        return len(self._clients)

    async def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        first = next(self._turn)
        count = len(self._clients)
        for attempt in range(count):
            client = self._clients[(first + attempt) % count]
            try:
                return await client.request(method, url, **options)
            except NOT_CONNECTED:
                if attempt == count - 1:
                    raise  # every replica refused: the caller's 503
        raise AssertionError("unreachable")

    async def forward(self, method: str, target: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        """The proxy's request, as the caller encoded its target, to the next replica in turn (skipping one that
        refuses the connection). Raises aiohttp's errors: `FORWARD_NOT_CONNECTED` when every replica refused,
        `TimeoutError` when the one that accepted did not answer in time, `aiohttp.ClientError` otherwise."""
        sessions = self._sessions or self._open()
        first = next(self._turn)
        count = len(sessions)
        for attempt in range(count):
            index = (first + attempt) % count
            url = self._urls[index].join(URL(target, encoded=True))
            try:
                async with sessions[index].request(method, url, data=body or None, headers=headers) as reply:
                    return Reply(reply.status, reply.headers, await reply.read())
            except FORWARD_NOT_CONNECTED:
                if attempt == count - 1:
                    raise
        raise AssertionError("unreachable")

    def _open(self) -> list[aiohttp.ClientSession]:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        self._sessions = [
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(**self._pool),
                timeout=timeout,
                skip_auto_headers=_NOT_ADDED,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # a proxy keeps no cookies between callers
            )
            for _ in self._urls
        ]
        return self._sessions

    async def get(self, url: str, **options: Any) -> httpx.Response:
        return await self.request("GET", url, **options)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
        for session in self._sessions:
            await session.close()
