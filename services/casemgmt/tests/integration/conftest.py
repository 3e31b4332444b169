"""A real consent service beside case management, for the reads that cross agencies and must be decided.

The consent service runs as its own uvicorn process on a real port, as under `make run`, on the module's
PostgreSQL database and NATS server, so it sees the same referral events case management does.
"""

from __future__ import annotations

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
