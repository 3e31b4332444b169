"""The real consent service beside the referral service, and the demo site directory, for tests of the gate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import consent_service, create_database, eventually
from divert_kernel.db import make_engine

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
async def consent_database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "consent")


@pytest.fixture(scope="module")
async def consent_url(
    consent_database: str,
    module_nats: NatsServer,
    jwks_file: Path,
    sites_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """The consent service on a port of its own, as the referral service's gate calls it over HTTP."""
    log_dir = tmp_path_factory.mktemp("consent")
    async with consent_service(consent_database, module_nats.url, jwks_file, sites_file, log_dir) as url:
        yield url


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
