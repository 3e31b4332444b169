"""`make run`'s launcher on its own: its own PostgreSQL and NATS, data that survives a restart, no orphans."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from divert_devstack.procs import free_port
from tests.conftest import free_ports_env, start_launcher, stop_launcher
from tests.partner import referral_body


def _descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.split("\n"):
        if line.strip():
            child, parent = (int(x) for x in line.split())
            children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Running and not a zombie (ps, not /proc: the same on Linux and macOS)."""
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(state) and not state.startswith("Z")


def _launch(home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the launcher to its end: it is expected to refuse at once."""
    return subprocess.run(
        [sys.executable, "-m", "divert_devstack.run"],
        env={**os.environ, "DIVERT_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def own_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The launcher's own PostgreSQL and NATS on free ports, whatever the environment points at."""
    for inherited in ("DIVERT_DATABASE_URL", "DIVERT_NATS_URL"):
        monkeypatch.delenv(inherited, raising=False)
    return {**free_ports_env(), "DIVERT_PG_PORT": str(free_port()), "DIVERT_NATS_PORT": str(free_port())}


class TestLauncher:
    def test_starts_everything_keeps_data_and_stops_without_orphans(self, tmp_path: Path, own_env: dict) -> None:
        home = tmp_path / ".divert"
        proc, endpoints = start_launcher(home, own_env)
        try:
            clients = json.loads((home / "demo-clients.json").read_text())["clients"]
            by_jurisdiction = {(c["jurisdictions"][0], c["agency_id"]): c["agency_type"] for c in clients}
            assert set(by_jurisdiction.values()) == {
                "police",
                "case_management",
                "prosecutor",
                "defender",
                "project_manager",
                "auditor",
                "evaluator",
                "community",
            }
            seattle = [t for (j, _), t in by_jurisdiction.items() if j == "seattle-king-county"]
            santa_fe = [t for (j, _), t in by_jurisdiction.items() if j == "santa-fe"]
            assert seattle.count("police") == 2 and seattle.count("case_management") == 2
            assert sorted(santa_fe) == ["case_management", "police", "project_manager", "prosecutor"]
            assert all(c["client_secret"] and len(c["jurisdictions"]) == 1 for c in clients)
            assert json.loads((home / "sites.json").read_text())["sites"][1]["jurisdiction"] == "santa-fe"
            assert endpoints["nats_url"].startswith("nats://")
            police = next(c for c in clients if c["agency_type"] == "police")
            token = httpx.post(
                f"{endpoints['gateway_url']}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": police["client_id"],
                    "client_secret": police["client_secret"],
                },
            )
            assert token.status_code == 200, token.text
            assert token.json()["token_type"].lower() == "bearer"
            police_auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
            created = httpx.post(
                f"{endpoints['gateway_url']}/v1/referrals",
                json=referral_body("P-RESTART"),
                headers=police_auth,
                timeout=20,
            )
            assert created.status_code == 201, created.text
            children = _descendants(proc.pid)
            assert len(children) >= 8  # postgres, nats-server, five services, gateway
        finally:
            assert stop_launcher(proc) == 0
        assert not [pid for pid in children if _alive(pid)]

        again, _ = start_launcher(home, own_env)
        try:
            secrets_after = json.loads((home / "demo-clients.json").read_text())["clients"]
            assert secrets_after == clients  # secrets made on first run are kept
            token = httpx.post(
                f"{endpoints['gateway_url']}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": police["client_id"],
                    "client_secret": police["client_secret"],
                },
            ).json()["access_token"]
            kept = httpx.get(
                f"{endpoints['gateway_url']}/v1/referrals/{created.json()['referral_id']}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=20,
            )
            assert kept.status_code == 200, kept.text
        finally:
            assert stop_launcher(again) == 0

    def test_a_second_launcher_on_the_same_home_refuses_and_leaves_the_first_alone(
        self, tmp_path: Path, own_env: dict
    ) -> None:
        home = tmp_path / ".divert"
        first, endpoints = start_launcher(home, own_env)
        try:
            operator = (home / "operator.json").read_text()
            second = _launch(home, own_env)
            assert second.returncode == 1, second.stdout + second.stderr
            assert f"already running on {home}" in second.stderr
            assert f"launcher pid {first.pid}" in second.stderr
            assert "Divert is up" not in second.stdout
            assert json.loads((home / "endpoints.json").read_text()) == endpoints
            assert (home / "operator.json").read_text() == operator
            assert first.poll() is None
            # Still answering, database included: a demo client still gets a token.
            client = json.loads((home / "demo-clients.json").read_text())["clients"][0]
            token = httpx.post(
                endpoints["token_url"],
                data={
                    "grant_type": "client_credentials",
                    "client_id": client["client_id"],
                    "client_secret": client["client_secret"],
                },
                timeout=20,
            )
            assert token.status_code == 200, token.text
        finally:
            assert stop_launcher(first) == 0

    def test_a_taken_gateway_port_is_named_and_nothing_starts(self, tmp_path: Path, own_env: dict) -> None:
        home = tmp_path / ".divert"
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", 0))
            squatter.listen()
            port = squatter.getsockname()[1]
            refused = _launch(home, {**own_env, "DIVERT_GATEWAY_PORT": str(port)})
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert f"port {port} for gateway" in refused.stderr
        assert "DIVERT_GATEWAY_PORT" in refused.stderr
        assert "Divert is up" not in refused.stdout
        # Nothing was spawned: each child's log (and PostgreSQL's data directory) would exist.
        left = sorted(p.name for p in home.iterdir())
        assert left == ["launcher.lock"], left

    def test_one_port_given_to_two_parts_is_refused(self, tmp_path: Path, own_env: dict) -> None:
        home = tmp_path / ".divert"
        gateway = own_env["DIVERT_GATEWAY_PORT"]
        refused = _launch(home, {**own_env, "DIVERT_SERVICE_BASE_PORT": gateway})
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert f"port {gateway} for referral" in refused.stderr
        assert sorted(p.name for p in home.iterdir()) == ["launcher.lock"]
