"""The real consent service beside the referral service, and the demo site directory, for tests of the gate."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from consent.bootstrap import create as create_consent
from consent.config import ConsentSettings
from divert_devstack import demo_site
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.procs import free_port
from divert_devstack.testing import create_database, service_settings
from divert_kernel.clock import FixedClock

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def sites_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both demo jurisdictions: seattle-king-county has two police agencies and two providers."""
    path = tmp_path_factory.mktemp("sites") / "sites.json"
    path.write_text(json.dumps(demo_site.sites()))
    return path


@pytest.fixture(scope="module")
async def consent_database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "consent")


@pytest.fixture(scope="module")
async def consent_url(
    consent_database: str, module_nats: NatsServer, jwks_file: Path, sites_file: Path
) -> AsyncIterator[str]:
    """The consent service on a port of its own, as the referral service's gate calls it over HTTP."""
    settings = ConsentSettings(
        **service_settings(database_url=consent_database, nats_url=module_nats.url, jwks_file=jwks_file),
        sites_file=str(sites_file),
    )
    port = free_port()
    config = uvicorn.Config(
        create_consent(settings, FixedClock(NOW)), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
