"""One service's replicas as the gateway calls them: each request to the next replica in turn, with failover.

A replica that refuses the connection (killed, restarting, or not yet listening) or does not accept it in time
is skipped and the same request goes to the next: nothing reached the refusing one, so even a POST is safe to
send again. Anything after the connection (the replica dies mid-request, or does not answer in time) is not
retried here; the caller gets 503 and retries with its Idempotency-Key, which the service honours once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import httpx

NOT_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout)


class Replicas:
    """Duck-types the part of `httpx.AsyncClient` the gateway uses: `request`, `get`, `aclose`."""

    def __init__(self, urls: Sequence[str], **client_options: Any) -> None:
        if not urls:
            raise ValueError("a service needs at least one URL")
        self._clients = [httpx.AsyncClient(base_url=url, **client_options) for url in urls]
        self._turn = itertools.count()

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

    async def get(self, url: str, **options: Any) -> httpx.Response:
        return await self.request("GET", url, **options)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
