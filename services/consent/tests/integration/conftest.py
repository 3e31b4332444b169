"""The consent service with its lifespan running, on a fresh database per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from consent.bootstrap import create
from consent.config import ConsentSettings
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, running, service_settings


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "consent")


@pytest.fixture(scope="module")
async def service(database: str, module_nats: NatsServer, jwks_file: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = ConsentSettings(**service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file))
    async with running(create(settings)) as client:
        yield client
