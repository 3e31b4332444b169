"""The revocation list refreshed off the request path, with its staleness bounded if the refresher stops.

A real local HTTP server plays the gateway (JWKS and `/oauth/revocations`); the verifier's clock is injected and
held still, so a refresh that happens can only come from the background refresher or from the staleness bound.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc.jwk import KeySet, RSAKey

from divert_devstack import tokens
from divert_kernel.auth import TokenVerifier
from divert_kernel.errors import Unauthenticated

STALE_AFTER = 3.0


class Gateway:
    """The two documents a verifier fetches, and the connections it opened to fetch them."""

    def __init__(self, key: RSAKey) -> None:
        self.key = key
        self.revoked: dict[str, int] = {}
        self.revocation_fetches = 0
        self.connections: set[int] = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a pooled client reuses its connection

            def do_GET(self) -> None:
                outer.connections.add(self.client_address[1])
                if self.path == "/oauth/revocations":
                    outer.revocation_fetches += 1
                    document = {"revoked": outer.revoked, "kids": [outer.key.kid]}
                else:
                    document = KeySet([outer.key]).as_dict(private=False)
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.jwks_url, self.revocations_url = f"{base}/.well-known/jwks.json", f"{base}/oauth/revocations"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway(tokens.new_signing_key())
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def verifier_of(gateway: Gateway, clock: Clock, interval: float = 0.05) -> AsyncIterator[TokenVerifier]:
    verifier = TokenVerifier(
        gateway.jwks_url,
        tokens.ISSUER,
        tokens.AUDIENCE,
        monotonic=clock,
        revocations_source=gateway.revocations_url,
        revocations_interval=interval,
        revocations_stale_after=STALE_AFTER,
    )
    try:
        yield verifier
    finally:
        await verifier.close()


async def until(condition, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    assert await condition()


def _token(key: RSAKey) -> str:
    return tokens.mint(key, agency="spd", agency_type="police", jurisdictions=["seattle-king-county"])


async def _refused(verifier: TokenVerifier, token: str) -> bool:
    try:
        await verifier.verify(token)
    except Unauthenticated:
        return True
    return False


def _revoke(gateway: Gateway, token: str) -> None:
    gateway.revoked["spd-client"] = int(json.loads(_claims(token))["iat"])


def _claims(token: str) -> str:
    segment = token.split(".")[1]
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode()


class TestBackgroundRefresh:
    async def test_a_revoked_clients_token_is_refused_without_any_request_refreshing(self, gateway: Gateway) -> None:
        clock = Clock()  # held still: the request path never finds the list due
        async with verifier_of(gateway, clock) as verifier:
            refresher = asyncio.create_task(verifier.keep_current())
            try:
                token = _token(gateway.key)
                await until(lambda: _fetched(gateway, 1))
                assert not await _refused(verifier, token)
                _revoke(gateway, token)
                await until(lambda: _refused(verifier, token))
            finally:
                refresher.cancel()

    async def test_a_dead_refresher_leaves_the_list_stale_for_at_most_the_bound(self, gateway: Gateway) -> None:
        clock = Clock()
        async with verifier_of(gateway, clock) as verifier:
            refresher = asyncio.create_task(verifier.keep_current())
            await until(lambda: _fetched(gateway, 1))
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            token = _token(gateway.key)
            _revoke(gateway, token)
            clock.now += STALE_AFTER  # nobody refreshes in the background any more: the request path does
            assert await _refused(verifier, token)

    async def test_every_refresh_reuses_one_connection(self, gateway: Gateway) -> None:
        clock = Clock()
        async with verifier_of(gateway, clock, interval=1.0) as verifier:
            token = _token(gateway.key)
            for _ in range(5):  # no refresher: each request past the interval refreshes on the request path
                clock.now += 1.0
                assert not await _refused(verifier, token)
            assert gateway.revocation_fetches == 5
            assert len(gateway.connections) == 1  # the JWKS and every list on one kept-alive connection


async def _fetched(gateway: Gateway, at_least: int) -> bool:
    return gateway.revocation_fetches >= at_least
