"""The real consent service beside the referral service, and the demo site directory, for tests of the gate."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from consent.bootstrap import create as create_consent
from consent.config import ConsentSettings
from divert_devstack import demo_site
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.procs import free_port
from divert_devstack.testing import create_database, eventually, service_settings
from divert_kernel.clock import FixedClock
from divert_kernel.db import make_engine

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


def referrals_reach_consent(consent_database: str):  # type: ignore[no-untyped-def]
    """An httpx response hook: after a referral is created, wait until the consent service has heard of it.

    The consent service learns each jurisdiction's participants from the referral events it consumes, and only
    then does the site's MOU reach them; a test reading a gated view at once would race that event.
    """
    engine = make_engine(consent_database)
    known = sa.text("SELECT count(*) FROM known_participants WHERE participant_id = CAST(:p AS uuid)")

    async def hook(response: httpx.Response) -> None:
        if response.request.method != "POST" or response.request.url.path != "/v1/referrals":
            return
        if response.status_code != 201:
            return
        await response.aread()
        participant_id = response.json()["participant_id"]

        async def heard() -> int:
            async with engine.connect() as conn:
                return int(await conn.scalar(known, {"p": participant_id}) or 0)

        await eventually(heard)

    return hook
