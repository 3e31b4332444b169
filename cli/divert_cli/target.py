"""Which deployment `divert` works on: the local one of `make run` by default, a real one by environment settings.

Locally, `make run` writes `.divert/operator.json` (mode 0600): the URLs of the gateway and each service, each
service database's URL and NATS's operator URL. Against a real deployment, the same facts come from the
environment (`DIVERT_GATEWAY_URL`, `DIVERT_<SERVICE>_URL`, `DIVERT_<SERVICE>_DATABASE_URL`, `DIVERT_NATS_URL`),
each overriding the file's value, so an operator's shell or a Kubernetes Job sets only what it has.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("referral", "casemgmt", "consent", "prosecution", "audit", "evaluation")
DATABASES = (*SERVICES, "gateway")


class TargetError(Exception):
    """The deployment cannot be found: nothing is running locally and no settings name one."""


@dataclass(frozen=True)
class Target:
    home: Path
    gateway_url: str
    nats_url: str | None = None
    services: dict[str, str] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)

    def database_url(self, name: str) -> str:
        try:
            return self.databases[name]
        except KeyError:
            raise TargetError(f"no database URL for {name}: set DIVERT_{name.upper()}_DATABASE_URL") from None

    def service_url(self, name: str) -> str:
        try:
            return self.services[name]
        except KeyError:
            raise TargetError(f"no URL for the {name} service: set DIVERT_{name.upper()}_URL") from None


def home() -> Path:
    return Path(os.environ.get("DIVERT_HOME", ".divert")).resolve()


def load() -> Target:
    """The deployment: `operator.json` under DIVERT_HOME if present, each fact overridable from the environment."""
    root = home()
    path = root / "operator.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    env = os.environ
    gateway = env.get("DIVERT_GATEWAY_URL", known.get("gateway_url"))
    if not gateway:
        raise TargetError(f"no Divert found: {path} is missing (is `make run` up?) and DIVERT_GATEWAY_URL is not set")
    services = {s: env.get(f"DIVERT_{s.upper()}_URL", known.get("services", {}).get(s)) for s in SERVICES}
    databases = {d: env.get(f"DIVERT_{d.upper()}_DATABASE_URL", known.get("databases", {}).get(d)) for d in DATABASES}
    return Target(
        home=root,
        gateway_url=gateway,
        nats_url=env.get("DIVERT_NATS_URL", known.get("nats_url")),
        services={k: v for k, v in services.items() if v},
        databases={k: v for k, v in databases.items() if v},
    )
