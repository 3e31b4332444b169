"""Finding 11: a bad token must not make a service fetch the gateway's JWKS again (a cheap denial of service).

The keys come from a real local HTTP server that counts its fetches; the verifier's clock is injected.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc.jwk import KeySet, RSAKey

from divert_devstack import tokens
from divert_kernel.auth import TokenVerifier
from divert_kernel.errors import Unauthenticated

N = 50


class JwksServer:
    def __init__(self, keys: list[RSAKey]) -> None:
        self.keys = keys
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps(KeySet(outer.keys).as_dict(private=False)).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer([tokens.new_signing_key()])
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _token(key: RSAKey) -> str:
    return tokens.mint(key, agency="spd", agency_type="police", jurisdictions=["seattle-king-county"])


def _forged_signature(good: str) -> str:
    header, claims, signature = good.split(".")
    return ".".join([header, claims, ("A" if signature[0] != "A" else "B") + signature[1:]])


async def _refused(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


class TestJwksRefresh:
    async def test_bad_signatures_with_a_known_kid_never_refetch(self, jwks: JwksServer) -> None:
        verifier = TokenVerifier(jwks.url, tokens.ISSUER, tokens.AUDIENCE, monotonic=Clock())
        good = _token(jwks.keys[0])
        assert (await verifier.verify(good))["agency"] == "spd"
        for _ in range(N):
            await _refused(verifier, _forged_signature(good))
        assert jwks.fetches == 1

    async def test_unknown_kids_refetch_at_most_once_per_interval(self, jwks: JwksServer) -> None:
        clock = Clock()
        verifier = TokenVerifier(jwks.url, tokens.ISSUER, tokens.AUDIENCE, monotonic=clock)
        assert await verifier.verify(_token(jwks.keys[0]))
        stranger = tokens.new_signing_key()  # a key the gateway never published
        for _ in range(N):
            await _refused(verifier, _token(stranger))
        assert jwks.fetches == 1  # keys fetched just now: an unknown kid waits for the interval
        clock.now += 11  # past the 10 s interval: one refresh for all N
        for _ in range(N):
            await _refused(verifier, _token(stranger))
        assert jwks.fetches == 2
        clock.now += 5
        for _ in range(N):
            await _refused(verifier, _token(stranger))
        assert jwks.fetches == 2
        clock.now += 6
        for _ in range(N):
            await _refused(verifier, _token(stranger))
        assert jwks.fetches == 3

    async def test_a_rotated_key_is_picked_up_once_the_interval_has_passed(self, jwks: JwksServer) -> None:
        clock = Clock()
        verifier = TokenVerifier(jwks.url, tokens.ISSUER, tokens.AUDIENCE, monotonic=clock)
        assert await verifier.verify(_token(jwks.keys[0]))
        rotated = tokens.new_signing_key()
        jwks.keys.append(rotated)
        clock.now += 10
        assert (await verifier.verify(_token(rotated)))["agency"] == "spd"
        assert jwks.fetches == 2
