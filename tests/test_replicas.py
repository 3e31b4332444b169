"""Every service and the gateway as two processes (`DIVERT_REPLICAS=2`) on a three-node JetStream cluster
(`DIVERT_NATS_CLUSTER=3`): one replica of everything, then one nats-server, killed mid-load.

One launcher of the module's own (its own PostgreSQL and NATS cluster), started exactly as `make run` starts it.
Each test sends arrest-diversion referrals through the gateway's front (the launcher's balancer over the gateway's
two replicas) for about 20 s, each with an Idempotency-Key, and retries a failed attempt with the same key, as an
RMS would. Mid-load the first test kill -9s one replica of every service and of the gateway: for the apps with
timed work (prosecution's lapses, audit's sealing, the gateway's webhook dispatch) the replica leading the job,
found by the advisory lock its database connection holds; for the others the first. The second kill -9s one
nats-server. The launcher restarts what was killed.

Then (tests/replica_checks.py): every acknowledged referral is readable and reached the prosecutor as a held
charge; each key made exactly one referral, one DiversionOffered and one ChargeHeld (counted in the databases);
every durable consumer settles with nothing dead-lettered; the timed work went on: a held charge lapsed after the
kill (prosecution runs 400 days ahead, so each held charge is due at its first tick) and an audit checkpoint was
sealed after it; and after the nats-server kill, every stream is again on all three nodes.
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

import httpx
import pytest

from divert_devstack.stack import APPS
from tests.conftest import start_launcher, stop_launcher
from tests.partner import Partner
from tests.replica_checks import (
    fetch,
    nothing_lost_or_applied_twice,
    settled_without_dead_letters,
    streams_on_every_node,
    timed_work_went_on,
    until,
)
from tests.replica_load import NATS_NODES, REPLICAS, Load, ports_env, run_load

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
    nats_base: int

    def database(self, name: str) -> str:
        return f"{self.pg_url}/{name}"

    def log(self) -> str:
        return (self.home / "launcher.log").read_text(errors="replace")

    @property
    def operator_nats_url(self) -> str:
        return str(json.loads((self.home / "operator.json").read_text())["nats_url"])

    def nats_port(self, node: int) -> int:
        return self.nats_base + node


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    home = tmp_path_factory.mktemp("replicas") / ".divert"
    env = {
        **ports_env(),
        "DIVERT_REPLICAS": str(REPLICAS),
        "DIVERT_NATS_CLUSTER": str(NATS_NODES),
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
    nats_base = int(env["DIVERT_NATS_PORT"])
    yield Launched(home, proc, endpoints, first["police"], first["prosecutor"], pg_url, nats_base)
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


def _pid_of(needle: str) -> int:
    """The one process whose command line holds `needle`."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    pids = [int(line.split(None, 1)[0]) for line in out.splitlines() if needle in line + " "]
    assert len(pids) == 1, f"expected one process with {needle!r}, found {pids}"
    return pids[0]


def _pid_listening_on(port: int) -> int:
    return _pid_of(f"--port {port} ")


async def _leader_pid(launched: Launched, app: str) -> int:
    """The process leading `app`'s scheduled job: the one whose database connection holds the job's lock."""
    rows = await until(lambda: fetch(launched.database(app), _LEADER_PORT, JOBS[app]), 20, f"a {app} leader")
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


async def _under_load(launched: Launched, prefix: str, kill: Any) -> tuple[Load, Any, datetime]:
    """LOAD_SECONDS of referrals; `kill()` mid-load. Returns the load, what `kill` returned and when it ran."""
    token = Partner(launched.endpoints["gateway_url"], launched.police).token()
    load_end = time.monotonic() + LOAD_SECONDS
    gateway = launched.endpoints["gateway_url"]
    load_task = asyncio.create_task(run_load(gateway, token, prefix, load_end, give_up=load_end + 30))
    await asyncio.sleep(KILL_AFTER_SECONDS)
    killed_at = datetime.now(UTC)
    killed = await kill()
    return await load_task, killed, killed_at


async def test_killing_one_replica_of_everything_mid_load_loses_nothing_and_doubles_nothing(
    launched: Launched,
) -> None:
    started = time.monotonic()
    load, victims, killed_at = await _under_load(launched, "replicas", lambda: _kill_one_replica_of_each(launched))
    for name in victims:
        assert f"restarted {name} " in launched.log(), launched.log()[-3000:]
    await nothing_lost_or_applied_twice(launched, load)
    lapses = await timed_work_went_on(launched, killed_at)
    await settled_without_dead_letters(launched, launched.operator_nats_url)
    for app in APPS:  # every process answers again, the restarted ones included
        for url in launched.endpoints["replicas"][app]:
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200, url
    print(
        f"replicas: {len(load.acked)} referrals acknowledged, {load.retries} retried attempts, "
        f"{len(victims)} replicas killed, {lapses} lapses in all, {time.monotonic() - started:.0f}s"
    )


async def test_killing_a_nats_server_mid_load_loses_nothing_and_the_cluster_heals(launched: Launched) -> None:
    started = time.monotonic()
    operator = launched.operator_nats_url
    await until(lambda: streams_on_every_node(operator, NATS_NODES), 30, "every stream on every node")

    async def kill_a_nats_server() -> int:
        pid = _pid_of(f"-p {launched.nats_port(1)} ")
        os.kill(pid, signal.SIGKILL)
        return pid

    load, _, killed_at = await _under_load(launched, "natskill", kill_a_nats_server)
    assert "restarted nats-server-2 " in launched.log(), launched.log()[-3000:]
    await nothing_lost_or_applied_twice(launched, load)
    await timed_work_went_on(launched, killed_at)
    await settled_without_dead_letters(launched, operator)
    await until(lambda: streams_on_every_node(operator, NATS_NODES), 60, "the cluster healed")
    print(
        f"nats: {len(load.acked)} referrals acknowledged, {load.retries} retried attempts, one of {NATS_NODES} "
        f"nats-servers killed, {time.monotonic() - started:.0f}s"
    )
