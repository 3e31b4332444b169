"""A real consent service beside case management, for the reads that cross agencies and must be decided.

The consent service runs as its own uvicorn process on a real port, as under `make run`, on the module's
PostgreSQL database and NATS server, so it sees the same referral events case management does.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats
import pytest

from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.procs import free_port
from divert_devstack.testing import JURISDICTION, consent_service, create_database, eventually


@pytest.fixture(scope="module")
async def consent_url(
    postgres: PostgresServer,
    module_nats: NatsServer,
    jwks_file: Path,
    sites_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    database, log_dir = await create_database(postgres, "consent"), tmp_path_factory.mktemp("consent")
    async with consent_service(database, module_nats.url, jwks_file, sites_file, log_dir) as url:
        yield url


@pytest.fixture(scope="module")
async def consent(consent_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=consent_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
async def bus(module_nats: NatsServer) -> AsyncIterator[nats.NATS]:
    nc = await nats.connect(module_nats.url)
    yield nc
    await nc.close()


class ConsentFront:
    """A tiny real HTTP front of the real consent service (`upstream`): it forwards every request, except that it
    can be taken `down` (503 to everything: the consent service cannot answer), and can answer one participant's
    `POST /v1/consents/roi-on-file` as the consent service does before it has seen the hand-off
    (`{"on_file": false, "consent_id": null, "holder_known": false}`), a moment no real timing makes certain.
    Without an upstream, every other question is answered 503. `asked` keeps each roi-on-file question and the
    authorization it came with."""

    def __init__(self, upstream: str | None) -> None:
        self.upstream = upstream
        self.url = ""
        self.handoff_unseen: set[str] = set()
        self.asked: list[tuple[dict[str, object], str]] = []
        self.down = False

    async def __call__(self, scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response

        if scope["type"] != "http":
            return
        request = Request(scope, receive)  # type: ignore[arg-type]
        body = await request.body()
        if request.url.path == "/v1/consents/roi-on-file":
            asked = json.loads(body)
            self.asked.append((asked, request.headers.get("authorization", "")))
        if self.down or self.upstream is None:
            reply: Response = JSONResponse({"detail": "down"}, status_code=503)
        elif request.url.path == "/v1/consents/roi-on-file" and asked.get("participant_id") in self.handoff_unseen:
            reply = JSONResponse({"on_file": False, "consent_id": None, "holder_known": False})
        else:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
            async with httpx.AsyncClient(base_url=self.upstream, timeout=10) as client:
                forwarded = await client.request(
                    request.method, request.url.path, params=request.query_params, content=body, headers=headers
                )
            reply = Response(forwarded.content, forwarded.status_code, media_type=forwarded.headers.get("content-type"))
        await reply(scope, receive, send)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def fronting(upstream: str | None) -> AsyncIterator[ConsentFront]:
    """The front on a real port of its own."""
    import asyncio

    import uvicorn

    front = ConsentFront(upstream)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(front, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    front.url = f"http://127.0.0.1:{port}"
    try:
        yield front
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="module")
async def consent_front(consent_url: str) -> AsyncIterator[ConsentFront]:
    """The real consent service, behind a front that can take it down (see ConsentFront)."""
    async with fronting(consent_url) as front:
        yield front


@pytest.fixture(scope="module")
def roi_naming(consent: httpx.AsyncClient) -> Callable[..., Awaitable[str]]:
    """Record, as the holding provider, a signed ROI naming that provider (the enrolment precondition)."""

    async def record(
        participant_id: str, holder: str, headers: dict[str, str], jurisdiction: str = JURISDICTION
    ) -> str:
        now = datetime.now(UTC)
        body = {
            "participant_id": participant_id,
            "jurisdiction": jurisdiction,
            "grants": [{"recipient_agency": holder, "categories": ["contacts"], "purposes": ["care_coordination"]}],
            "effective_at": (now - timedelta(days=1)).isoformat(),
            "expires_at": (now + timedelta(days=365)).isoformat(),
            "signed_document_sha256": "ab" * 32,
        }

        async def recorded() -> str | None:
            # Refused until the consent service has seen the hand-off that makes `holder` the holder.
            reply = await consent.post("/v1/consents", json=body, headers=headers)
            return str(reply.json()["consent_id"]) if reply.status_code == 201 else None

        return await eventually(recorded)  # type: ignore[no-any-return]

    return record
