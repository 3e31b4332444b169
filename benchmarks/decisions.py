"""Consent decisions at the service over HTTP: one decision's p50/p99 and throughput, and batches per second.

    make bench        (or: python benchmarks/decisions.py [requests] [concurrency] [batch size])

Runs on a freshly started Divert (benchmarks/_system.py: every service, consumer and relay running, as deployed).
A few participants are made as partners make them, through the gateway (referral, acceptance, warm hand-off,
then the provider records a consent granting the prosecutor assessments), so decisions have real bases to read.
Then the prosecutor's token asks the consent service itself (not through the gateway) for POST
/v1/access-decisions, one at a time and from `concurrency` callers, beside GET /auth/check (the token verified,
nothing else) from the same client; and POST /v1/access-decisions/batch. Every decision is recorded (its row,
its event, its outbox row in one transaction), as always: nothing here skips that. Beside them, the floor: a
sequential one-row commit with raw asyncpg on the same PostgreSQL (a decision commits once before it answers).
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).parent))
from _load import J, referral, token
from _report import quantile, target
from _system import Running, running_system

CATEGORIES = ("assessment", "housing", "substance_use")


async def _participants(running: Running, count: int) -> list[str]:
    """Participants handed to lead-case-management, each with a consent granting kc-prosecutor assessments."""
    async with aiohttp.ClientSession(running.gateway_url) as gw:
        police = {"Authorization": f"Bearer {await token(gw, running.clients['seattle-pd'])}"}
        cm = {"Authorization": f"Bearer {await token(gw, running.clients['lead-case-management'])}"}
        made = []
        for i in range(count):
            async with gw.post(
                "/v1/referrals", data=referral(i), headers={**police, "Content-Type": "application/json"}
            ) as r:
                created = await r.json()
                assert r.status == 201, created
            path = f"/v1/referrals/{created['referral_id']}"
            handoff = {"case_manager_id": "cm-bench", "location": "Day center", "at": "2026-11-22T09:00:00Z"}
            for step, body in (
                ("acceptance", {}),
                ("handoff", {**handoff, "case_management_agency": "lead-case-management"}),
            ):
                async with gw.post(f"{path}/{step}", json=body, headers=police) as r:
                    assert r.status == 200, await r.text()
            consent = {
                "participant_id": created["participant_id"],
                "jurisdiction": J,
                "grants": [
                    {
                        "recipient_agency": "kc-prosecutor",
                        "categories": ["assessment"],
                        "purposes": ["diversion_monitoring"],
                    }
                ],
                "effective_at": "2026-01-01T00:00:00Z",
                "expires_at": "2030-01-01T00:00:00Z",
                "signed_document_sha256": "ab" * 32,
            }
            for _ in range(400):  # the provider holds the person once the hand-off's event has reached consent
                async with gw.post("/v1/consents", json=consent, headers=cm) as r:
                    if r.status == 201:
                        break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"consent not recorded: {r.status}")
            made.append(created["participant_id"])
    return made


async def _timed(n: int, concurrency: int, call: Callable[[], Awaitable[int]]) -> tuple[list[float], float]:
    latencies: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            status = await call()
            latencies.append(time.perf_counter() - started)
            assert status == 200, status

    started = time.perf_counter()
    await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
    return latencies, len(latencies) / (time.perf_counter() - started)


async def _raw_commits(running: Running, n: int) -> tuple[list[float], float]:
    """Sequential one-row autocommitted inserts on the same PostgreSQL: no decision can answer faster."""
    conn = await asyncpg.connect(running.database_url("consent"))
    try:
        # A logged table: a temporary one writes no WAL, so its commits flush nothing.
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_commits (id bigserial PRIMARY KEY, v text)")

        async def insert() -> int:
            await conn.execute("INSERT INTO bench_commits (v) VALUES ('x')")
            return 200

        return await _timed(n, 1, insert)
    finally:
        await conn.execute("DROP TABLE IF EXISTS bench_commits")
        await conn.close()


def _line(name: str, latencies: list[float], rate: float) -> str:
    p50, p99 = quantile(latencies, 0.5) * 1000, quantile(latencies, 0.99) * 1000
    return f"{name:<32} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   {rate:7.0f}/s"


async def _measure(running: Running, n: int, concurrency: int, batch: int) -> None:
    participants = await _participants(running, 20)
    async with aiohttp.ClientSession(running.gateway_url) as gw:
        auth = {"Authorization": f"Bearer {await token(gw, running.clients['kc-prosecutor'])}"}
    ask = lambda: {  # noqa: E731
        "participant_id": random.choice(participants),
        "jurisdiction": J,
        "requester_agency": "kc-prosecutor",
        "category": random.choice(CATEGORIES),
        "purpose": "diversion_monitoring",
    }
    async with aiohttp.ClientSession(running.stack.service_url("consent"), headers=auth) as consent:

        async def call(method: str, path: str, body: object = None) -> int:
            async with consent.request(method, path, json=body) as r:
                await r.read()
                return r.status

        check = lambda: call("GET", "/auth/check")  # noqa: E731
        decide = lambda: call("POST", "/v1/access-decisions", ask())  # noqa: E731
        many = lambda: call("POST", "/v1/access-decisions/batch", {"requests": [ask() for _ in range(batch)]})  # noqa: E731
        sequential_p99 = None
        for label, callers in (("sequential", 1), (f"{concurrency} concurrent", concurrency)):
            await _timed(200, callers, check)  # warm both paths
            await _timed(200, callers, decide)
            base, base_rate = await _timed(n, callers, check)
            dec, dec_rate = await _timed(n, callers, decide)
            print(f"-- one decision a request, {label} ({n} requests each)")
            print(_line("baseline GET /auth/check", base, base_rate))
            print(_line("POST /v1/access-decisions", dec, dec_rate))
            sequential_p99 = sequential_p99 or quantile(dec, 0.99)
        raw, raw_rate = await _raw_commits(running, n)
        print("-- the floor: a recorded decision commits once (its WAL flushed) before it answers")
        print(_line("raw asyncpg one-row commit", raw, raw_rate))
        batches = max(4, n // batch // 2)
        print(f"-- batches of {batch} decisions ({batches} batches each)")
        rates = {}
        for callers in (1, 2):
            lat, rate = await _timed(batches, callers, many)
            rates[callers] = rate * batch
            print(_line(f"POST .../batch, {callers} caller(s)", lat, rate) + f"  = {rate * batch:7.0f} decisions/s")
    target("one consent decision p99 at the service", sequential_p99 * 1000, "ms", 2, higher_is_better=False)
    target("batch consent decisions/s", max(rates.values()), "/s", 5000, higher_is_better=True)


def main(n: int, concurrency: int, batch: int) -> None:
    with running_system() as running:
        asyncio.run(_measure(running, n, concurrency, batch))


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    main(*(args + [500, 8, 500][len(args) :]))
