"""A real consent service beside case management, for the reads that cross agencies and must be decided.

The consent service runs as its own uvicorn process on a real port, as under `make run`, on the module's
PostgreSQL database and NATS server, so it sees the same referral events case management does.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest

from divert_devstack import demo_site, tokens
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.procs import free_port, spawn, stop, wait_for_port
from divert_devstack.testing import create_database


@pytest.fixture(scope="module")
def sites_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's two sites, as `make run` seeds them."""
    path = tmp_path_factory.mktemp("sites") / "sites.json"
    path.write_text(json.dumps(demo_site.sites()))
    return path


@pytest.fixture(scope="module")
async def consent_url(
    postgres: PostgresServer,
    module_nats: NatsServer,
    jwks_file: Path,
    sites_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    database = await create_database(postgres, "consent")
    port = free_port()
    env = {
        "CONSENT_DATABASE_URL": database,
        "CONSENT_NATS_URL": module_nats.url,
        "CONSENT_JWKS_URL": str(jwks_file),
        "CONSENT_TOKEN_ISSUER": tokens.ISSUER,
        "CONSENT_TOKEN_AUDIENCE": tokens.AUDIENCE,
        "CONSENT_SITES_FILE": str(sites_file),
    }
    argv = [sys.executable, "-m", "uvicorn", "--factory", "consent.bootstrap:create", "--port", str(port)]
    log = tmp_path_factory.mktemp("consent") / "consent.log"
    proc = spawn([*argv, "--host", "127.0.0.1", "--no-access-log"], log=log, env={**os.environ, **env})
    try:
        wait_for_port(port, proc=proc, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture(scope="module")
async def consent(consent_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=consent_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
async def bus(module_nats: NatsServer) -> AsyncIterator[nats.NATS]:
    nc = await nats.connect(module_nats.url)
    yield nc
    await nc.close()


class RoiOnFileStand:
    """A tiny real HTTP app answering exactly the consent service's `POST /v1/consents/roi-on-file` contract
    (body {participant_id, jurisdiction} -> 200 {on_file, consent_id, holder_known}), until that endpoint lands
    in the consent service. Every other path is forwarded to the real consent service (`upstream`), or answered
    503 when there is none. `answers` sets the answer per participant; `down` makes it answer 503 to everything.
    """

    def __init__(self, upstream: str | None) -> None:
        self.upstream = upstream
        self.url = ""
        self.answers: dict[str, dict[str, object]] = {}
        self.asked: list[tuple[dict[str, object], str]] = []
        self.down = False

    def on_file(self, participant_id: str, *, consent_id: str = "roi-1") -> None:
        self.answers[participant_id] = {"on_file": True, "consent_id": consent_id, "holder_known": True}

    def answer(self, participant_id: str, **answer: object) -> None:
        self.answers[participant_id] = {"on_file": False, "consent_id": None, "holder_known": True} | answer

    async def __call__(self, scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response

        if scope["type"] != "http":
            return
        request = Request(scope, receive)  # type: ignore[arg-type]
        body = await request.body()
        if self.down:
            reply: Response = JSONResponse({"detail": "down"}, status_code=503)
        elif request.url.path == "/v1/consents/roi-on-file" and request.method == "POST":
            asked = json.loads(body)
            self.asked.append((asked, request.headers.get("authorization", "")))
            default = {"on_file": False, "consent_id": None, "holder_known": True}
            reply = JSONResponse(self.answers.get(str(asked.get("participant_id")), default))
        elif self.upstream is None:
            reply = JSONResponse({"detail": "no consent service"}, status_code=503)
        else:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
            async with httpx.AsyncClient(base_url=self.upstream, timeout=10) as client:
                forwarded = await client.request(
                    request.method, request.url.path, params=request.query_params, content=body, headers=headers
                )
            reply = Response(forwarded.content, forwarded.status_code, media_type=forwarded.headers.get("content-type"))
        await reply(scope, receive, send)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def standing(upstream: str | None) -> AsyncIterator[RoiOnFileStand]:
    """The stand on a real port of its own."""
    import asyncio

    import uvicorn

    stand = RoiOnFileStand(upstream)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(stand, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    stand.url = f"http://127.0.0.1:{port}"
    try:
        yield stand
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="module")
async def roi_stand() -> AsyncIterator[RoiOnFileStand]:
    """The roi-on-file stand alone: every other consent question goes unanswered (the gate fails closed)."""
    async with standing(None) as stand:
        yield stand


@pytest.fixture(scope="module")
async def roi_stand_over_consent(consent_url: str) -> AsyncIterator[RoiOnFileStand]:
    """The roi-on-file stand in front of the real consent service, which answers everything else."""
    async with standing(consent_url) as stand:
        yield stand
