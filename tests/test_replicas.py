"""Every service and the gateway as two processes (`DIVERT_REPLICAS=2`), one replica of each killed mid-load.

One launcher of the module's own (its own PostgreSQL and NATS), started exactly as `make run` starts it. A load
client sends arrest-diversion referrals through the gateway's front (the launcher's balancer over the gateway's
two replicas) for about 20 s, each with an Idempotency-Key, and retries a failed attempt with the same key, as an
RMS would. Mid-load, kill -9 hits one replica of every service and of the gateway: for the apps with timed work
(prosecution's lapses, audit's sealing, the gateway's webhook dispatch) the replica leading the job, found by the
advisory lock its database connection holds; for the others the first. The launcher restarts them.

Then: every acknowledged referral is readable and reached the prosecutor as a held charge; each key made exactly
one referral, one DiversionOffered and one ChargeHeld (counted in the databases); every durable consumer settles
with nothing dead-lettered; and the timed work went on on the survivors: a held charge lapsed after the kill (prosecution runs 400 days ahead, so each held charge is due at
its first tick) and an audit checkpoint was sealed after it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from divert_devstack.stack import APPS, SERVICES
from tests.conftest import start_launcher, stop_launcher
from tests.partner import Partner
from tests.replica_load import REPLICAS, ports_env, run_load

LOAD_SECONDS = 20.0
KILL_AFTER_SECONDS = 7.0


@dataclass
class Launched:
    home: Path
    proc: subprocess.Popen[bytes]
    endpoints: dict[str, Any]
    police: dict[str, Any]
    prosecutor: dict[str, Any]
    pg_url: str

    def database(self, name: str) -> str:
        return f"{self.pg_url}/{name}"

    def log(self) -> str:
        return (self.home / "launcher.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    home = tmp_path_factory.mktemp("replicas") / ".divert"
    env = {
        **ports_env(),
        "DIVERT_REPLICAS": str(REPLICAS),
        # A claim left by the killed gateway frees after the upstream timeout + 5 s: keep that short.
        "GATEWAY_UPSTREAM_TIMEOUT_SECONDS": "5",
        "PROSECUTION_LAPSE_EVERY_SECONDS": "1",
        "PROSECUTION_CLOCK_OFFSET_DAYS": "400",  # past every intake window (at most 365 days)
        "AUDIT_CHECKPOINT_SECONDS": "1",
    }
    saved = {k: os.environ.pop(k) for k in ("DIVERT_DATABASE_URL", "DIVERT_NATS_URL") if k in os.environ}
    try:
        proc, endpoints = start_launcher(home, env, timeout=240)
    finally:
        os.environ.update(saved)
    clients = json.loads((home / "demo-clients.json").read_text())["clients"]
    ours = [c for c in clients if "seattle-king-county" in c["jurisdictions"]]
    first = {t: next(c for c in ours if c["agency_type"] == t) for t in ("police", "prosecutor")}
    password = (home / "secrets" / "postgres-password").read_text().strip()
    pg_url = f"postgresql://divert:{password}@127.0.0.1:{env['DIVERT_PG_PORT']}"
    yield Launched(home, proc, endpoints, first["police"], first["prosecutor"], pg_url)
    assert stop_launcher(proc) == 0


# The advisory lock each scheduled job's leader holds (divert_kernel.schedule), by the app that runs the job.
JOBS = {
    "prosecution": "divert-schedule:prosecution:LapseDueCharges",
    "audit": "divert-schedule:audit:SealAuditCheckpoint",
    "gateway": "divert-schedule:gateway:DispatchDueWebhooks",
}
_LEADER_PORT = """
    WITH k AS (SELECT hashtext($1)::bigint AS k)
    SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid, k
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.classid::bigint = ((k.k >> 32) & 4294967295) AND l.objid::bigint = (k.k & 4294967295)
"""


def _pid_listening_on(port: int) -> int:
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    pids = [int(line.split(None, 1)[0]) for line in out.splitlines() if f"--port {port} " in line + " "]
    assert len(pids) == 1, f"expected one process on port {port}, found {pids}"
    return pids[0]


async def _leader_pid(launched: Launched, app: str) -> int:
    """The process leading `app`'s scheduled job: the one whose database connection holds the job's lock."""
    rows = await _until(lambda: _fetch(launched.database(app), _LEADER_PORT, JOBS[app]), 20, f"a {app} leader")
    port = rows[0]["client_port"]
    out = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True
    )
    found = re.search(r"pid=(\d+)", out.stdout)
    assert found, f"no process owns the {app} leader's connection: {out.stdout!r}"
    return int(found.group(1))


async def _kill_one_replica_of_each(launched: Launched) -> list[str]:
    """kill -9 the leader of each scheduled job, and the first replica of every other app; their names."""
    victims = {}
    for app in APPS:
        ports = [int(url.rsplit(":", 1)[1]) for url in launched.endpoints["replicas"][app]]
        pids = [_pid_listening_on(port) for port in ports]
        victim = await _leader_pid(launched, app) if app in JOBS else pids[0]
        assert victim in pids, f"the {app} leader {victim} is none of its replicas {pids}"
        victims[f"{app}-{pids.index(victim) + 1}"] = victim
    for pid in victims.values():
        os.kill(pid, signal.SIGKILL)
    return list(victims)


async def _fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def _until(probe: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.5)


async def _consumers_settled(operator_nats_url: str) -> bool:
    """Every service's and the gateway's durable has nothing pending and nothing delivered but unacknowledged
    (partners' feed durables are the partners' to drain)."""
    nc = await nats.connect(operator_nats_url)
    try:
        js = nc.jetstream()
        for stream in await js.streams_info():
            for info in await js.consumers_info(stream.config.name or ""):
                if "-from-" in (info.name or "") and (info.num_pending or info.num_ack_pending):
                    return False
        return True
    finally:
        await nc.close()


async def _dead_letters(launched: Launched) -> dict[str, int]:
    counts = {}
    for name in (*SERVICES, "gateway"):
        url = launched.database(name)
        if (await _fetch(url, "SELECT to_regclass('dead_letters') IS NOT NULL AS present"))[0]["present"]:
            counts[name] = (await _fetch(url, "SELECT count(*) AS n FROM dead_letters"))[0]["n"]
    return counts


_PER_REFERRAL = "SELECT data->>'referral_id' AS id, count(*) AS n FROM events WHERE type = $1 GROUP BY 1"


async def test_killing_one_replica_of_everything_mid_load_loses_nothing_and_doubles_nothing(
    launched: Launched,
) -> None:
    started = time.monotonic()
    police = Partner(launched.endpoints["gateway_url"], launched.police)
    token = police.token()
    load_end = time.monotonic() + LOAD_SECONDS
    load_task = asyncio.create_task(run_load(launched.endpoints["gateway_url"], token, load_end, give_up=load_end + 30))
    await asyncio.sleep(KILL_AFTER_SECONDS)
    killed_at = datetime.now(UTC)
    victims = await _kill_one_replica_of_each(launched)
    load = await load_task
    assert not load.refused, load.refused[:5]
    assert not load.unacked, f"{len(load.unacked)} referrals never acknowledged"
    assert len(load.acked) >= 10, "too little load to prove anything"
    for name in victims:
        assert f"restarted {name} " in launched.log(), launched.log()[-3000:]
    ids = set(load.acked.values())
    assert len(ids) == len(load.acked)  # one referral per key

    # Nothing acknowledged was lost: each is readable through the gateway, and reached the prosecutor.
    for referral_id in ids:
        assert police.get(f"/v1/referrals/{referral_id}").status_code == 200, referral_id
    referral_db, prosecution_db = launched.database("referral"), launched.database("prosecution")

    async def all_held() -> bool:
        held = {r["id"] for r in await _fetch(prosecution_db, _PER_REFERRAL, "ChargeHeld")}
        return ids <= held

    # A killed replica's fetched but unacknowledged messages come back after the consumers' ack wait (30 s).
    await _until(all_held, 60, "every acknowledged referral held by the prosecutor")
    prosecutor = Partner(launched.endpoints["gateway_url"], launched.prosecutor)
    for referral_id in list(ids)[:20]:
        assert prosecutor.get(f"/v1/held-charges/{referral_id}").status_code == 200, referral_id

    # Nothing applied twice: one offer per key in the referral service, one held charge per referral.
    offered = {r["id"]: r["n"] for r in await _fetch(referral_db, _PER_REFERRAL, "DiversionOffered")}
    held = {r["id"]: r["n"] for r in await _fetch(prosecution_db, _PER_REFERRAL, "ChargeHeld")}
    keys = await _fetch(
        referral_db, "SELECT count(*) AS n FROM idempotency_records WHERE key LIKE 'replicas-%' AND status IS NOT NULL"
    )
    assert keys[0]["n"] == len(load.acked)
    assert {offered.get(i) for i in ids} == {1} and {held.get(i) for i in ids} == {1}
    assert set(offered) == set(held)  # no referral made by a retry that was never acknowledged

    # Timed work went on with a replica of each service dead: lapses (each at most once) and audit sealing.
    lapses_query = "SELECT data->>'referral_id' AS id, max(recorded_at) AS at, count(*) AS n FROM events WHERE type = $1 GROUP BY 1"

    async def lapsed_after_kill() -> bool:
        rows = await _fetch(prosecution_db, lapses_query, "IntakeDeadlineLapsed")
        return any(r["at"] > killed_at for r in rows)

    await _until(lapsed_after_kill, 30, "a held charge lapsing after the kill")
    lapses = await _fetch(prosecution_db, lapses_query, "IntakeDeadlineLapsed")
    assert {r["n"] for r in lapses} == {1}, "a charge lapsed twice"

    async def sealed_after_kill() -> bool:
        rows = await _fetch(launched.database("audit"), "SELECT max(sealed_at) AS at FROM audit_checkpoints")
        return rows[0]["at"] is not None and rows[0]["at"] > killed_at

    await _until(sealed_after_kill, 30, "an audit checkpoint sealed after the kill")

    # Every consumer drained with nothing dead-lettered: an event held by a killed replica came back (after the
    # ack wait) before the retries of one that needed it ran out.
    operator_nats = json.loads((launched.home / "operator.json").read_text())["nats_url"]
    await _until(lambda: _consumers_settled(operator_nats), 60, "every durable consumer settled")
    assert set((await _dead_letters(launched)).values()) == {0}, await _dead_letters(launched)

    # Every process answers again, the restarted ones included.
    for app in APPS:
        for url in launched.endpoints["replicas"][app]:
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200, url
    print(
        f"replicas: {len(load.acked)} referrals acknowledged, {load.retries} retried attempts, "
        f"{len(victims)} replicas killed, {len(lapses)} lapses, {time.monotonic() - started:.0f}s"
    )
