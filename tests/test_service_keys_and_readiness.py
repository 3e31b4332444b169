"""Service level, real PostgreSQL: Idempotency-Key records are purged after a day; /readyz without NATS is 503."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import asyncpg

from divert_devstack.postgres import PostgresServer
from divert_devstack.procs import free_port
from divert_devstack.testing import create_database, running, service_settings
from divert_kernel import idempotency
from divert_kernel.db import make_engine
from referral.bootstrap import create
from referral.config import ReferralSettings
from tests.partner import referral_body


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_keyed_posts_are_recorded_once_and_purged_after_a_day(
    postgres: PostgresServer, jwks_file: Path, tokens_for: Callable
) -> None:
    url = await create_database(postgres, "referral")
    dead_nats = f"nats://127.0.0.1:{free_port()}"
    settings = ReferralSettings(**service_settings(database_url=url, nats_url=dead_nats, jwks_file=jwks_file))
    police = tokens_for("police")
    async with running(create(settings)) as service:
        ready = await service.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"]["nats"] == {"ok": False}
        assert ready.json()["checks"]["database"] == {"ok": True}
        key = {"Idempotency-Key": f"direct-{uuid4()}", **police}
        body = referral_body("P-PURGE-1")
        first = await service.post("/v1/referrals", json=body, headers=key)
        again = await service.post("/v1/referrals", json=body, headers=key)
        assert first.status_code == again.status_code == 201, first.text
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    conn = await asyncpg.connect(_plain(url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM referrals") == 1
        await conn.execute("UPDATE idempotency_records SET created_at = now() - interval '25 hours'")
        await conn.execute(
            "INSERT INTO idempotency_records (client_id, key, request_sha256, status) VALUES ('c', 'fresh', 'x', 201)"
        )
        engine = make_engine(url)
        try:
            assert await idempotency.purge(engine) == 1
        finally:
            await engine.dispose()
        assert await conn.fetchval("SELECT array_agg(key) FROM idempotency_records") == ["fresh"]
    finally:
        await conn.close()
