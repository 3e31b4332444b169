"""The audit service on real PostgreSQL and NATS, with its own checkpoint key in a file, as under `make run`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import nats
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from audit.adapters import store
from audit.bootstrap import create
from audit.config import AuditSettings
from audit.domain.commands import SealAuditCheckpoint
from divert_contracts.consent import AccessDecided
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, publish_as, running, service_settings

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
READ = "org.divert.audit.AuditLogRead"


def decision(
    participant_id: str,
    outcome: str = "permit",
    flags: list[str] | None = None,
    minutes: int = 0,
    purpose: str = "diversion_monitoring",
    requester: tuple[str, str] = ("kc-prosecutor", "prosecutor"),
) -> AccessDecided:
    return AccessDecided(
        decision_id=str(uuid4()),
        participant_id=participant_id,
        requester_agency=requester[0],
        requester_agency_type=requester[1],
        category="assessment",
        purpose=purpose,  # type: ignore[arg-type]
        decision=outcome,  # type: ignore[arg-type]
        basis_kind="consent" if outcome == "permit" else "none",  # type: ignore[arg-type]
        basis_id=str(uuid4()) if outcome == "permit" else None,
        decided_at=NOW + timedelta(minutes=minutes),
        acting_person="dpa-7",
        flags=flags or [],
    )


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "audit")


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit-secrets") / "audit-checkpoint-key.pem"
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    return path


@pytest.fixture(scope="module")
def app(database: str, module_nats: NatsServer, jwks_file: Path, key_file: Path) -> FastAPI:
    # Sealing is driven by the tests (`seal`), not by the clock.
    common = service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file)
    return create(AuditSettings(**common, signing_key_file=key_file, checkpoint_seconds=3600))


@pytest.fixture(scope="module")
async def service(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


@pytest.fixture
async def db(database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database.replace("+asyncpg", ""))
    yield conn
    await conn.close()


@pytest.fixture
async def publish(module_nats: NatsServer) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Publish contract events as a service would: publish("consent", event, jurisdiction=...)."""
    nc = await nats.connect(module_nats.url)

    async def send(source: str, event: Any, **kwargs: Any) -> str:
        return await publish_as(nc, source, event, **kwargs)

    yield send
    await nc.close()


@pytest.fixture
def verification(service: httpx.AsyncClient, tokens_for: Callable) -> Callable[[], Awaitable[dict]]:
    """The auditor's verification report (the read is itself appended, after the walk it reports on)."""

    async def report() -> dict:
        reply = await service.get("/v1/audit/verification", headers=tokens_for("auditor"))
        assert reply.status_code == 200, reply.text
        return reply.json()  # type: ignore[no-any-return]

    return report


@pytest.fixture
def seal(app: FastAPI, service: httpx.AsyncClient) -> Callable[[], Awaitable[int]]:
    """Seal the head now, sending the command the scheduler sends; returns the sealed sequence."""

    async def now() -> int:
        assert await app.state.bus.handle(SealAuditCheckpoint())
        async with app.state.engine.connect() as conn:
            return await store.last_checkpoint(conn)

    return now
