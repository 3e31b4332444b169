"""Consent decisions at the service: latency p50/p99 and throughput, beside a trivial authenticated call.

    python benchmarks/decisions.py [requests] [concurrency]

Runs the consent service as its own uvicorn process on a fresh PostgreSQL and nats-server, loads
1000 participants' consents, then times POST /v1/access-decisions (read the bases, decide, record the
decision with its event and outbox row in one transaction) against GET /auth/check (token verified,
nothing else) from the same client in the same run.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import httpx
import sqlalchemy as sa

from divert_devstack import tokens
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer, ensure_databases
from divert_devstack.procs import free_port, spawn, stop, wait_for_port
from divert_devstack.stack import migrations_dir
from divert_kernel.db import make_engine
from divert_kernel.migrate import upgrade

J = "seattle-king-county"


async def timed(client: httpx.AsyncClient, n: int, concurrency: int, call) -> tuple[list[float], float]:  # type: ignore[no-untyped-def]
    latencies: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            reply = await call(client)
            latencies.append(time.perf_counter() - started)
            assert reply.status_code == 200, reply.text

    started = time.perf_counter()
    await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
    return latencies, len(latencies) / (time.perf_counter() - started)


def summary(name: str, latencies: list[float], rate: float) -> str:
    q = statistics.quantiles(latencies, n=100)
    return f"{name:<28} p50 {q[49] * 1000:6.2f} ms   p99 {q[98] * 1000:6.2f} ms   {rate:7.0f}/s"


async def hand_off(database_url: str, participants: list[str]) -> None:
    """Make lead-cm the provider holding each participant, as a WarmHandoffCompleted would (only the holding
    provider records consents); written straight into the relation table, since no referral service runs here."""
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO participant_relations (jurisdiction, participant_id, relation, agency, since, event_id) "
                    "SELECT :j, p, 'handoff_provider', 'lead-cm', now(), gen_random_uuid() "
                    "FROM unnest(CAST(:ids AS uuid[])) AS p"
                ),
                {"j": J, "ids": participants},
            )
    finally:
        await engine.dispose()


async def run(url: str, database_url: str, auth: dict[str, str], cm: dict[str, str], n: int, concurrency: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        participants = [str(uuid4()) for _ in range(1000)]
        await hand_off(database_url, participants)
        for p in participants:
            reply = await client.post(
                "/v1/consents",
                headers=cm,
                json={
                    "participant_id": p,
                    "jurisdiction": J,
                    "effective_at": "2026-01-01T00:00:00Z",
                    "expires_at": "2030-01-01T00:00:00Z",
                    "signed_document_sha256": "ab" * 32,
                    "grants": [
                        {
                            "recipient_agency": "kc-prosecutor",
                            "categories": ["assessment"],
                            "purposes": ["diversion_monitoring"],
                        }
                    ],
                },
            )
            assert reply.status_code == 201, reply.text

        async def decide(c: httpx.AsyncClient) -> httpx.Response:
            return await c.post(
                "/v1/access-decisions",
                headers=auth,
                json={
                    "participant_id": random.choice(participants),
                    "jurisdiction": J,
                    "requester_agency": "kc-prosecutor",
                    "category": random.choice(["assessment", "housing", "substance_use"]),
                    "purpose": "diversion_monitoring",
                },
            )

        async def check(c: httpx.AsyncClient) -> httpx.Response:
            return await c.get("/auth/check", headers=auth)

        for label, concurrent in (("sequential", 1), (f"{concurrency} concurrent", concurrency)):
            await timed(client, 200, concurrent, check)  # warm up both paths
            await timed(client, 200, concurrent, decide)
            base, base_rate = await timed(client, n, concurrent, check)
            dec, dec_rate = await timed(client, n, concurrent, decide)
            print(f"-- {label} ({n} requests each)")
            print(summary("baseline GET /auth/check", base, base_rate))
            print(summary("POST /v1/access-decisions", dec, dec_rate))
            q_dec, q_base = statistics.quantiles(dec, n=100), statistics.quantiles(base, n=100)
            print(
                f"{'decision minus baseline':<28} p50 {(q_dec[49] - q_base[49]) * 1000:6.2f} ms   "
                f"p99 {(q_dec[98] - q_base[98]) * 1000:6.2f} ms   (target: p99 under 2 ms at the service)"
            )


def main(n: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        pg = PostgresServer(Path(home) / "pg", free_port())
        nats = NatsServer(Path(home) / "nats", free_port())
        pg.start()
        nats.start()
        key = tokens.new_signing_key()
        jwks = Path(home) / "jwks.json"
        tokens.write_jwks(key, jwks)
        port = free_port()
        proc = None
        try:
            asyncio.run(ensure_databases(pg.url("postgres", "postgresql"), ["consent"]))
            upgrade(migrations_dir("consent"), pg.url("consent"))
            env = {
                **os.environ,
                "CONSENT_DATABASE_URL": pg.url("consent"),
                "CONSENT_NATS_URL": nats.url,
                "CONSENT_JWKS_URL": str(jwks),
            }
            proc = spawn(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "consent.bootstrap:create",
                    "--port",
                    str(port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                log=Path(home) / "consent.log",
                env=env,
            )
            wait_for_port(port, proc=proc)
            auth = {
                "Authorization": "Bearer "
                + tokens.mint(key, agency="kc-prosecutor", agency_type="prosecutor", jurisdictions=[J], ttl=3600)
            }
            cm = {
                "Authorization": "Bearer "
                + tokens.mint(key, agency="lead-cm", agency_type="case_management", jurisdictions=[J], ttl=3600)
            }
            asyncio.run(run(f"http://127.0.0.1:{port}", pg.url("consent"), auth, cm, n, concurrency))
        finally:
            if proc is not None:
                stop(proc)
            nats.stop()
            pg.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, int(sys.argv[2]) if len(sys.argv) > 2 else 8)
