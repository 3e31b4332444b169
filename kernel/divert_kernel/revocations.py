"""The gateway's list of revoked clients, kept current for a service's token verifier (divert_kernel.auth)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx

log = logging.getLogger("divert.auth")


class Revocations:
    """The gateway's list of revoked clients (client id -> the `iat` at or below which its tokens are refused),
    fetched once per `interval`, so a disabled client's tokens stop within seconds.

    Without a background refresher the request path fetches it when due. With one (`keep_current`, started by
    the app) requests fetch it only once the last attempt is older than `stale_after`: a refresher that died or
    hangs cannot make revocation lag by more than that.

    If the gateway cannot be reached the last list is kept (fail open): the gateway then issues no tokens
    either, and refusing every request because it blipped would make it a hard dependency of each service.
    The same answer announces the published key ids, so a rotated key is fetched before it signs anything.
    """

    def __init__(
        self,
        source: str | None,
        interval: float,
        monotonic: Callable[[], float],
        http: HttpClient | None = None,
        *,
        stale_after: float = 3.0,
    ) -> None:
        self._source = source
        self._interval = interval
        self._stale_after = max(stale_after, interval)
        self._background = False
        self._now = monotonic
        self._http = http or HttpClient()
        self._tried_at: float | None = None
        self._lock = asyncio.Lock()
        self.bounds: dict[str, int] = {}

    async def keep_current(self, refresh: Callable[..., Awaitable[None]]) -> None:
        """Call `refresh(now=True)` every interval for ever; from the first call on, requests stop refreshing."""
        if self._source is None:
            return
        self._background = True
        while True:
            try:
                await refresh(now=True)
            except Exception as exc:  # noqa: BLE001 - e.g. keys unreachable: the next tick tries again
                log.warning("revocations_refresher_failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self._interval)

    async def refresh_if_due(self, *, now: bool = False) -> list[str]:
        """The key ids the gateway announced if the list was refreshed now, else an empty list."""
        if self._source is None or not (now or self._due()):
            return []
        async with self._lock:
            if not (now or self._due()):  # another request refreshed while this one waited
                return []
            self._tried_at = self._now()
            try:
                response = await self._http.get(self._source, timeout=2)
                response.raise_for_status()
                data = response.json()
                self.bounds = {str(k): int(v) for k, v in data["revoked"].items()}
                return [str(kid) for kid in data.get("kids", [])]
            except Exception as exc:  # noqa: BLE001 - any failure keeps the last list; the next request retries
                log.warning("revocations_not_refreshed", extra={"error": type(exc).__name__})
                return []

    def _due(self) -> bool:
        after = self._stale_after if self._background else self._interval
        return self._tried_at is None or self._now() - self._tried_at >= after


class HttpClient:
    """One HTTP client for a verifier's fetches, made on first use (inside the running event loop)."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    async def get(self, url: str, *, timeout: float) -> httpx.Response:
        if self._client is None:
            self._client = httpx.AsyncClient()
        return await self._client.get(url, timeout=timeout)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
