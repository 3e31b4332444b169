"""Pytest fixtures: real PostgreSQL and nats-server started once per session from the PyPI wheels.

Service integration tests get a fresh database per module (`fresh_database`), real tokens signed
by a test key (`tokens`), and the service app with its lifespan running (`running`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import RSAKey

from divert_devstack import demo_site, tokens
from divert_devstack.nats import Feed, NatsServer
from divert_devstack.postgres import PostgresServer, ensure_databases
from divert_devstack.procs import free_port
from divert_devstack.stack import migrations_dir

JURISDICTION = "seattle-king-county"


@pytest.fixture(scope="session")
def infra_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("infra")


@pytest.fixture(scope="session")
def postgres(infra_dir: Path) -> Iterator[PostgresServer]:
    server = PostgresServer(infra_dir / "postgres" / "data", free_port())
    server.start()
    yield server
    server.stop()


DEMO_FEEDS = tuple(Feed(j, agency) for j, agencies in demo_site.AGENCIES.items() for agency, _ in agencies)


@pytest.fixture(scope="session")
def nats_server(infra_dir: Path) -> Iterator[NatsServer]:
    """The session's nats-server, with a partner feed user per demo agency.

    `nats_server.url` is the operator's (every permission: what tests publish, subscribe and inspect with, and
    an all-services URL for service tests); `url_for(service)` is that service's own limited user, which the
    launcher gives each service (the system tests pass `credentials_file` as DIVERT_NATS_CREDENTIALS)."""
    server = NatsServer(infra_dir / "nats" / "store", free_port(), feeds=DEMO_FEEDS)
    server.start()
    yield server
    server.stop()


async def create_database(postgres: PostgresServer, package: str) -> str:
    """A new, migrated database for one service's package; returns its asyncpg URL."""
    name = f"{package}_{uuid4().hex[:10]}"
    await ensure_databases(postgres.url("postgres", driver="postgresql"), [name])
    url = postgres.url(name)
    from divert_kernel.migrate import upgrade

    await asyncio.to_thread(upgrade, migrations_dir(package), url)
    return url


@pytest.fixture(scope="session")
def signing_key() -> RSAKey:
    return tokens.new_signing_key()


@pytest.fixture(scope="session")
def jwks_file(signing_key: RSAKey, infra_dir: Path) -> Path:
    path = infra_dir / "jwks.json"
    tokens.write_jwks(signing_key, path)
    return path


@pytest.fixture(scope="session")
def tokens_for(signing_key: RSAKey) -> Callable[..., dict[str, str]]:
    """Authorization headers for an agency: tokens_for("police") or tokens_for("prosecutor", agency="x")."""

    def make(agency_type: str, *, agency: str | None = None, jurisdictions: list[str] | None = None) -> dict[str, str]:
        token = tokens.mint(
            signing_key,
            agency=agency or f"demo-{agency_type}",
            agency_type=agency_type,
            jurisdictions=jurisdictions or [JURISDICTION],
        )
        return {"Authorization": f"Bearer {token}"}

    return make


def service_settings(
    *, database_url: str, nats_url: str, jwks_file: Path, consent_url: str = "http://127.0.0.1:9"
) -> dict[str, Any]:
    """Keyword arguments shared by every service's Settings class in tests."""
    return {
        "database_url": database_url,
        "nats_url": nats_url,
        "jwks_url": str(jwks_file),
        "token_issuer": tokens.ISSUER,
        "token_audience": tokens.AUDIENCE,
        "consent_url": consent_url,
    }


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (relay, consumers) running, and a client speaking to it in-process."""
    async with app.router.lifespan_context(app):
        # Errors reach the client as the responses a server would send, as in production.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


async def eventually(probe: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll an async probe until it returns something truthy; fail with the last value otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


@pytest.fixture(scope="module")
def module_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A nats-server of the module's own, so durable consumers of different test modules never meet."""
    server = NatsServer(tmp_path_factory.mktemp("nats") / "store", free_port(), feeds=DEMO_FEEDS)
    server.start()
    yield server
    server.stop()


async def publish_as(nc: Any, service: str, event: Any, *, jurisdiction: str = JURISDICTION) -> str:
    """Publish a contract event as `service` would (same envelope, subject, stream and message id)."""
    from datetime import UTC, datetime

    from divert_kernel import bus, envelope
    from divert_kernel.eventstore import StoredEvent

    js = nc.jetstream()
    await bus.ensure_stream(js, service)
    event_id = str(uuid4())
    stored = StoredEvent(
        position=0,
        event_id=event_id,
        stream_id=f"test-{event_id}",
        version=1,
        type=event.type_name(),
        schema_version=event.schema_version,
        jurisdiction=jurisdiction,
        data=event.model_dump(mode="json"),
        metadata={},
        recorded_at=datetime.now(UTC),
    )
    cloud_event = envelope.to_cloudevent(service, stored)
    import json

    await js.publish(
        envelope.subject(jurisdiction, service, stored.type),
        json.dumps(cloud_event).encode(),
        headers={"Nats-Msg-Id": event_id},
    )
    return event_id


def diversion_offered(referral_id: str, participant_id: str, **overrides: Any) -> Any:
    """A DiversionOffered as the referral service publishes it, for services that consume it."""
    from datetime import UTC, date, datetime

    from divert_contracts.referral import DiversionOffered

    fields: dict[str, Any] = {
        "referral_id": referral_id,
        "participant_id": participant_id,
        "referral_type": "arrest_diversion",
        "referring_agency": "seattle-pd",
        "officer_badge": "B-1",
        "policy_version": 0,
        "race": "white",
        "ethnicity": "not_hispanic_or_latino",
        "gender": "male",
        "age_band": "35-44",
        "offense_codes": ["35A"],
        "intake_window_days": 30,
        "intake_deadline": date(2026, 12, 1),
        "offered_at": datetime(2026, 11, 1, 9, tzinfo=UTC),
        "rms_incident_number": "2026-000777",
    }
    return DiversionOffered(**(fields | overrides))


@pytest.fixture(scope="module")
def sites_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's two sites, as `make run` seeds them (a module may override it with a site of its own)."""
    path = tmp_path_factory.mktemp("sites") / "sites.json"
    path.write_text(json.dumps(demo_site.sites()))
    return path


@contextlib.asynccontextmanager
async def consent_service(
    database_url: str, nats_url: str, jwks_file: Path, sites_file: Path, log_dir: Path
) -> AsyncIterator[str]:
    """The real consent service as its own uvicorn process (as under `make run`), on a migrated database (see
    `create_database(postgres, "consent")`) and the given NATS, for a service's tests of reads that must be decided; yields its URL. Services never import one
    another, their tests included: this is the one place that starts it."""
    import os
    import sys

    from divert_devstack.procs import spawn, stop, wait_for_port

    port = free_port()
    env = {
        "CONSENT_DATABASE_URL": database_url,
        "CONSENT_NATS_URL": nats_url,
        "CONSENT_JWKS_URL": str(jwks_file),
        "CONSENT_TOKEN_ISSUER": tokens.ISSUER,
        "CONSENT_TOKEN_AUDIENCE": tokens.AUDIENCE,
        "CONSENT_SITES_FILE": str(sites_file),
    }
    argv = [sys.executable, "-m", "uvicorn", "--factory", "consent.bootstrap:create", "--port", str(port)]
    proc = spawn(
        [*argv, "--host", "127.0.0.1", "--no-access-log"], log=log_dir / "consent.log", env={**os.environ, **env}
    )
    try:
        await asyncio.to_thread(wait_for_port, port, proc=proc, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
