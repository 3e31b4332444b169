"""Faults under `make run`'s launcher (issue 9, findings 7 and 12): a stalled service, a killed child.

One launcher of the module's own (its own PostgreSQL and NATS, so it may kill them), with a short gateway timeout
so a stall outlasts it quickly. Every test is bounded in time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from divert_devstack.procs import free_port
from divert_devstack.stack import SERVICES
from tests.conftest import free_ports_env, start_launcher, stop_launcher
from tests.partner import Partner, referral_body

GATEWAY_TIMEOUT = 3.0


@dataclass
class Launched:
    home: Path
    proc: subprocess.Popen[bytes]
    endpoints: dict[str, Any]
    clients: dict[str, dict[str, Any]]
    pg_url: str

    def partner(self, agency_type: str) -> Partner:
        return Partner(self.endpoints["gateway_url"], self.clients[agency_type])

    def database(self, name: str) -> str:
        return f"{self.pg_url}/{name}"

    def log(self) -> str:
        return (self.home / "launcher.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    home = tmp_path_factory.mktemp("resilience") / ".divert"
    pg_port = free_port()
    env = {
        **free_ports_env(),
        "DIVERT_PG_PORT": str(pg_port),
        "DIVERT_NATS_PORT": str(free_port()),
        "GATEWAY_UPSTREAM_TIMEOUT_SECONDS": str(GATEWAY_TIMEOUT),
    }
    saved = {k: os.environ.pop(k) for k in ("DIVERT_DATABASE_URL", "DIVERT_NATS_URL") if k in os.environ}
    try:
        proc, endpoints = start_launcher(home, env)
    finally:
        os.environ.update(saved)
    clients: dict[str, dict[str, Any]] = {}
    for client in json.loads((home / "demo-clients.json").read_text())["clients"]:
        if "seattle-king-county" in client["jurisdictions"]:
            clients.setdefault(client["agency_type"], client)
    password = (home / "secrets" / "postgres-password").read_text().strip()
    yield Launched(home, proc, endpoints, clients, f"postgresql://divert:{password}@127.0.0.1:{pg_port}")
    assert stop_launcher(proc) == 0


def _child(launcher_pid: int, needle: str) -> int:
    """The pid of the launcher's descendant whose command line contains `needle`."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True, check=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines() if line.strip()]
    family, found = {launcher_pid}, True
    while found:
        found = False
        for pid, ppid, _ in rows:
            if int(ppid) in family and int(pid) not in family:
                family.add(int(pid))
                found = True
    matches = [int(pid) for pid, ppid, args in rows if int(pid) in family and needle in args and int(ppid) != 1]
    assert matches, f"no child running {needle}"
    return min(matches)


def _wait(probe: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = probe()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout}s")


def _refer(launched: Launched, tag: str) -> str:
    reply = launched.partner("police").post("/v1/referrals", json=referral_body(f"P-{tag}-{uuid4().hex[:8]}"))
    assert reply.status_code == 201, reply.text
    return str(reply.json()["referral_id"])


def _held(launched: Launched, referral_id: str, timeout: float = 30) -> None:
    prosecutor = launched.partner("prosecutor")
    _wait(lambda: prosecutor.get(f"/v1/held-charges/{referral_id}").status_code == 200, timeout, "held charge")


class TestSupervision:
    def test_readyz_reports_database_nats_and_outbox_per_service_and_in_aggregate(self, launched: Launched) -> None:
        started = time.monotonic()
        gateway = httpx.get(f"{launched.endpoints['gateway_url']}/readyz", timeout=10)
        assert gateway.status_code == 200, gateway.text
        body = gateway.json()
        assert body["status"] == "ready" and body["checks"]["database"]["ok"] is True
        assert set(body["services"]) == set(SERVICES)
        for name, url in launched.endpoints["services"].items():
            own = httpx.get(f"{url}/readyz", timeout=10).json()
            assert own["service"] == name and own["status"] == "ready"
            assert set(own["checks"]) == {"database", "nats", "outbox"}
            assert {"ok", "unpublished", "oldest_seconds"} <= set(own["checks"]["outbox"])
            assert body["services"][name]["status"] == "ready"
            assert httpx.get(f"{url}/healthz", timeout=5).json() == {"status": "ok", "service": name}
        assert time.monotonic() - started < 30

    def test_a_killed_service_is_restarted_and_serves_again(self, launched: Launched) -> None:
        started = time.monotonic()
        gateway_pid = _child(launched.proc.pid, "divert_gateway.bootstrap")
        victim = _child(launched.proc.pid, "referral.bootstrap")
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: "restarted referral" in launched.log(), 30, "the launcher restarting referral")
        assert launched.proc.poll() is None, launched.log()[-2000:]
        url = launched.endpoints["services"]["referral"]
        _wait(lambda: httpx.get(f"{url}/readyz", timeout=3).status_code == 200, 60, "referral ready again")
        _held(launched, _refer(launched, "RESTART"))
        assert _child(launched.proc.pid, "divert_gateway.bootstrap") == gateway_pid  # nothing else was touched
        assert _child(launched.proc.pid, "referral.bootstrap") != victim
        assert time.monotonic() - started < 120

    def test_a_killed_nats_server_is_restarted_and_events_flow_again(self, launched: Launched) -> None:
        started = time.monotonic()
        victim = _child(launched.proc.pid, "nats-server")
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: "restarted nats-server" in launched.log(), 30, "the launcher restarting nats-server")
        assert launched.proc.poll() is None, launched.log()[-2000:]
        _held(launched, _refer(launched, "NATS"), timeout=60)  # referral → JetStream → prosecution
        gateway = f"{launched.endpoints['gateway_url']}/readyz"
        _wait(lambda: httpx.get(gateway, timeout=10).status_code == 200, 30, "the system ready again")
        assert time.monotonic() - started < 120


class TestIdempotencyUnderStall:
    async def test_a_stall_past_the_gateway_timeout_retried_with_the_same_keys_acts_once(
        self, launched: Launched
    ) -> None:
        started = time.monotonic()
        run = uuid4().hex[:8]
        police = launched.partner("police")
        headers = {"Authorization": f"Bearer {police.token()}"}
        incidents = [
            (
                f"stall-{run}-{i}",
                referral_body(
                    f"P-STALL-{run}-{i}",
                    incident={**referral_body()["incident"], "rms_incident_number": f"STALL-{run}-{i}"},
                ),
            )
            for i in range(10)
        ]
        stall = await asyncpg.connect(launched.database("referral"))
        lock = stall.transaction()
        await lock.start()
        await stall.execute("LOCK TABLE events IN EXCLUSIVE MODE")  # every write to the event store waits
        async with httpx.AsyncClient(base_url=launched.endpoints["gateway_url"], timeout=30) as http:

            async def send(key: str, body: dict[str, Any]) -> httpx.Response:
                return await http.post("/v1/referrals", json=body, headers={**headers, "Idempotency-Key": key})

            try:
                first = await asyncio.gather(*(send(k, b) for k, b in incidents))
                assert {r.status_code for r in first} == {503}, [r.text for r in first]  # the gateway gave up
                retried = await asyncio.gather(*(send(k, b) for k, b in incidents[:4]))  # still stalled
                assert {r.status_code for r in retried} <= {503, 409}, [r.text for r in retried]
            finally:
                await lock.rollback()
                await stall.close()
            again = await asyncio.gather(*(send(k, b) for k, b in incidents))
            for _ in range(3):  # a partner retries a 503 with the same key; so does this test
                again = [
                    r if r.status_code != 503 else await send(k, b) for r, (k, b) in zip(again, incidents, strict=True)
                ]
        referral_ids = await _referral_ids(launched, f"STALL-{run}-%")
        assert len(referral_ids) == 10  # one referral per incident, however often it was sent
        await _until_held(launched, referral_ids, expected=10)
        assert [r.status_code for r in again] == [201] * 10, [r.text for r in again]
        assert all(r.headers.get("Idempotent-Replayed") == "true" for r in again)
        assert {r.json()["referral_id"] for r in again} == set(referral_ids)
        assert time.monotonic() - started < 90

    async def test_concurrent_attempts_with_one_key_get_409_with_retry_after(self, launched: Launched) -> None:
        police = launched.partner("police")
        key = {"Idempotency-Key": f"concurrent-{uuid4()}"}
        body = referral_body(f"P-CONC-{uuid4().hex[:8]}")
        stall = await asyncpg.connect(launched.database("referral"))
        lock = stall.transaction()
        await lock.start()
        await stall.execute("LOCK TABLE events IN EXCLUSIVE MODE")
        try:
            first = asyncio.create_task(asyncio.to_thread(police.post, "/v1/referrals", body, key))
            await asyncio.sleep(1.0)  # the first attempt is in flight, held by the lock
            second = await asyncio.to_thread(police.post, "/v1/referrals", body, key)
            assert second.status_code == 409 and second.json()["field"] == "Idempotency-Key", second.text
            assert second.headers["Retry-After"].isdigit()
        finally:
            await lock.rollback()
            await stall.close()
        assert (await first).status_code in (201, 503)
        final = police.post("/v1/referrals", json=body, headers=key)
        assert final.status_code == 201 and final.headers.get("Idempotent-Replayed") == "true", final.text

    async def test_a_refused_request_leaves_the_key_free(self, launched: Launched) -> None:
        police = launched.partner("police")
        key = {"Idempotency-Key": f"refused-{uuid4()}"}
        body = referral_body(f"P-FREE-{uuid4().hex[:8]}")
        refused = police.post("/v1/referrals", json={**body, "jurisdiction": "santa-fe"}, headers=key)
        assert refused.status_code == 403
        # The 403 came before any effect: the key is unused, so the same key with the corrected request acts.
        corrected = police.post("/v1/referrals", json=body, headers=key)
        assert corrected.status_code == 201 and "Idempotent-Replayed" not in corrected.headers, corrected.text


async def _referral_ids(launched: Launched, incident_pattern: str) -> list[str]:
    conn = await asyncpg.connect(launched.database("referral"))
    try:
        rows = await conn.fetch(
            "SELECT referral_id::text FROM referrals WHERE rms_incident_number LIKE $1", incident_pattern
        )
    finally:
        await conn.close()
    return [r[0] for r in rows]


async def _until_held(launched: Launched, referral_ids: list[str], expected: int, timeout: float = 30) -> None:
    conn = await asyncpg.connect(launched.database("prosecution"))
    try:
        deadline = time.monotonic() + timeout
        while True:
            held = await conn.fetchval(
                "SELECT count(*) FROM held_charges WHERE referral_id = ANY($1::uuid[])", referral_ids
            )
            if held == expected or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    assert held == expected
