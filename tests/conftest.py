"""The whole system as `make run` starts it: the launcher process, its six uvicorn children, real infrastructure.

PostgreSQL and nats-server are the session's own (started from the wheels), handed to the launcher as
external URLs so a test can stop NATS mid-run and inspect what each service stored.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.procs import free_port
from divert_devstack.stack import SERVICES
from tests.partner import Partner


@dataclass
class System:
    home: Path
    endpoints: dict
    clients: dict[str, dict]
    trace_file: Path
    postgres: PostgresServer
    nats: NatsServer
    launcher: subprocess.Popen[bytes]
    agencies: dict[str, dict]

    def partner(self, agency_type: str) -> Partner:
        """The demo site's first agency of this type in `seattle-king-county`."""
        return Partner(self.endpoints["gateway_url"], self.clients[agency_type])

    def agency(self, agency_id: str) -> Partner:
        """Any demo agency of either jurisdiction, by its agency id."""
        return Partner(self.endpoints["gateway_url"], self.agencies[agency_id])

    def database_url(self, service: str) -> str:
        return self.postgres.url(service, driver="postgresql")


def start_launcher(home: Path, env: dict[str, str], timeout: float = 120) -> tuple[subprocess.Popen[bytes], dict]:
    """Run `python -m divert_devstack.run` (what `make run` runs) and wait for its endpoints file."""
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "launcher.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "divert_devstack.run"],
        env={**os.environ, "DIVERT_HOME": str(home), **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + timeout
    endpoints = home / "endpoints.json"
    while not endpoints.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"launcher exited: {(home / 'launcher.log').read_text()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError("the system did not come up")
        time.sleep(0.1)
    return proc, json.loads(endpoints.read_text())


def stop_launcher(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(60)


def free_ports_env() -> dict[str, str]:
    base = free_port()
    while not all(_is_free(base + i) for i in range(len(SERVICES))) or base > 60000:
        base = free_port()
    return {"DIVERT_GATEWAY_PORT": str(free_port()), "DIVERT_SERVICE_BASE_PORT": str(base)}


def _is_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="session")
def system(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer, nats_server: NatsServer
) -> Iterator[System]:
    home = tmp_path_factory.mktemp("divert-home")
    trace_file = home / "traces.jsonl"
    env = {
        **free_ports_env(),
        "DIVERT_DATABASE_URL": postgres.url("postgres", driver="postgresql"),
        "DIVERT_NATS_URL": nats_server.url,
        # Each service connects as its own NATS user, as under `make run`.
        "DIVERT_NATS_CREDENTIALS": str(nats_server.credentials_file),
        "DIVERT_TRACE_FILE": str(trace_file),
    }
    proc, endpoints = start_launcher(home, env)
    every = json.loads((home / "demo-clients.json").read_text())["clients"]
    clients: dict[str, dict] = {}
    for client in every:
        if "seattle-king-county" in client["jurisdictions"]:
            clients.setdefault(client["agency_type"], client)
    agencies = {c["agency_id"]: c for c in every}
    yield System(home, endpoints, clients, trace_file, postgres, nats_server, proc, agencies)
    assert stop_launcher(proc) == 0
