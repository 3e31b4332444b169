"""`divert demo seed`: a small living caseload in the demo site, made through the gateway as partners make it.

Two arrest diversions and a social contact from the site's police agencies; warm hand-offs to both providers; an
ROI, intake and contacts for one participant; a legacy case with a court date at the prosecutor's office. Every
person is fictional (`Demo …` names, `DEMO-` RMS ids).

Running it twice changes nothing: each step is recorded in `<DIVERT_HOME>/demo-seed.json` once done, and every
POST carries an Idempotency-Key derived from the step, so a run cut short resumes without doubling what it sent.
If the recorded referrals are no longer there (fresh databases), the seed starts over with new keys.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import Progress

from divert_cli import opsdb
from divert_cli.demo_story import STEPS, Story

app = typer.Typer(help="The demo site (seattle-king-county).", no_args_is_help=True)
JURISDICTION = "seattle-king-county"


class Agency:
    """One demo client of `.divert/demo-clients.json`, speaking to the gateway with its own token."""

    def __init__(self, http: httpx.Client, client: dict[str, Any], keys: str) -> None:
        self.http, self.client, self._keys = http, client, keys
        self._token: str | None = None

    def _auth(self, key: str | None = None) -> dict[str, str]:
        if self._token is None:
            form = {"grant_type": "client_credentials", **{k: self.client[k] for k in ("client_id", "client_secret")}}
            reply = self.http.post("/oauth/token", data=form)
            reply.raise_for_status()
            self._token = str(reply.json()["access_token"])
        return {"Authorization": f"Bearer {self._token}"} | ({"Idempotency-Key": f"{self._keys}-{key}"} if key else {})

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path, headers=self._auth())

    def send(
        self, method: str, path: str, body: dict[str, Any], key: str, *, retry_403: bool = False, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Send until accepted: a 404 or 409 (a 403 where the caller becomes the holder by a hand-off) means
        another service has not heard the event it needs yet; a refused request leaves its key free."""
        waits = {404, 409, 503} | ({403} if retry_403 else set())
        deadline = time.monotonic() + timeout
        while True:
            reply = self.http.request(method, path, json=body, headers=self._auth(key))
            if reply.status_code in (200, 201):
                return dict(reply.json())
            if reply.status_code not in waits or time.monotonic() > deadline:
                opsdb.fail(f"{method} {path} as {self.client['agency_id']}: {reply.status_code} {reply.text[:300]}")
            time.sleep(0.2)

    def wait(self, path: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (reply := self.get(path)).status_code != 200:
            if time.monotonic() > deadline:
                opsdb.fail(f"GET {path} as {self.client['agency_id']}: still {reply.status_code}")
            time.sleep(0.2)
        return dict(reply.json())


class Manifest:
    """What the seed did, step by step, kept beside the deployment's other files (0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        self.data.setdefault("keys", f"demo-seed-{uuid.uuid4().hex[:12]}")
        self.data.setdefault("steps", {})

    def restart(self) -> None:
        self.data = {"keys": f"demo-seed-{uuid.uuid4().hex[:12]}", "steps": {}}
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(self.data, out, indent=2)
        os.replace(tmp, self.path)


@app.command()
def seed(
    clients: Annotated[
        Path | None, typer.Option(help="the demo clients file (default: <DIVERT_HOME>/demo-clients.json)")
    ] = None,
) -> None:
    """Seed referrals, hand-offs, consents, an intake, contacts, a legacy case and a court date (idempotent)."""
    deployment = opsdb.deployment()
    clients_file = clients or deployment.home / "demo-clients.json"
    if not clients_file.exists():
        opsdb.fail(f"{clients_file} is missing: the demo clients come with `make run`", code=2)
    every = json.loads(clients_file.read_text())["clients"]
    manifest = Manifest(deployment.home / "demo-seed.json")
    with httpx.Client(base_url=deployment.gateway_url, timeout=30) as http:
        agencies = {c["agency_id"]: Agency(http, c, manifest.data["keys"]) for c in every}
        if _stale(manifest, agencies):
            manifest.restart()
            agencies = {c["agency_id"]: Agency(http, c, manifest.data["keys"]) for c in every}
        done = _run(manifest, Story(agencies, JURISDICTION, _now(manifest)))
    steps = manifest.data["steps"]
    referrals = [v["referral_id"] for k, v in steps.items() if k.startswith("refer-")]
    state = "already seeded: nothing to do" if done == 0 else f"seeded {done} step(s)"
    opsdb.console.print(f"Demo site {JURISDICTION}: {state}; referrals {', '.join(referrals)}.")


def _now(manifest: Manifest) -> datetime:
    """The seed's clock, fixed at its first run, so a resumed run sends the same bodies with the same keys."""
    at = manifest.data.setdefault("at", datetime.now(UTC).replace(microsecond=0).isoformat())
    manifest.save()
    return datetime.fromisoformat(at)


def _stale(manifest: Manifest, agencies: dict[str, Agency]) -> bool:
    first = manifest.data["steps"].get("refer-arrest-1")
    if first is None:
        return False
    return agencies["seattle-pd"].get(f"/v1/referrals/{first['referral_id']}").status_code == 404


def _run(manifest: Manifest, story: Story) -> int:
    steps: dict[str, Any] = manifest.data["steps"]
    todo: list[tuple[str, Callable[[Story, dict[str, Any]], dict[str, Any]]]] = [
        (name, step) for name, step in STEPS if name not in steps
    ]
    with Progress(console=opsdb.errors) as bar:
        task = bar.add_task("seeding the demo site", total=len(STEPS), completed=len(STEPS) - len(todo))
        for name, step in todo:
            bar.update(task, description=f"seeding: {name}")
            steps[name] = step(story, steps)
            manifest.save()
            bar.advance(task)
    return len(todo)
