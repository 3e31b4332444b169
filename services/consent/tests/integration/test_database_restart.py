"""A database restart under a running service: refused requests are 503s, never 500s, and then it recovers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from consent.bootstrap import create
from consent.config import ConsentSettings
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.procs import free_port
from divert_devstack.testing import create_database, running, service_settings


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("restart-pg") / "data", free_port())
    server.start()
    yield server  # type: ignore[misc]
    server.stop()


@pytest.fixture(scope="module")
async def service(
    own_postgres: PostgresServer, module_nats: NatsServer, jwks_file: Path
) -> AsyncIterator[httpx.AsyncClient]:
    url = await create_database(own_postgres, "consent")
    settings = ConsentSettings(**service_settings(database_url=url, nats_url=module_nats.url, jwks_file=jwks_file))
    async with running(create(settings)) as client:
        yield client


async def test_requests_across_a_database_restart_are_never_500(
    service: httpx.AsyncClient, own_postgres: PostgresServer, tokens_for: Callable
) -> None:
    auth = tokens_for("prosecutor", agency="kc-prosecutor")
    body = {
        "participant_id": str(uuid4()),
        "jurisdiction": "seattle-king-county",
        "requester_agency": "kc-prosecutor",
        "category": "assessment",
        "purpose": "diversion_monitoring",
    }
    assert (await service.post("/v1/access-decisions", json=body, headers=auth)).status_code == 200

    own_postgres.stop()
    down = await service.post("/v1/access-decisions", json=body, headers=auth)
    assert down.status_code == 503, down.text
    assert down.headers["content-type"] == "application/problem+json"
    own_postgres.start()

    statuses = [(await service.post("/v1/access-decisions", json=body, headers=auth)).status_code for _ in range(12)]
    assert 500 not in statuses
    assert statuses[-1] == 200
