"""The whole Divert system on one machine: PostgreSQL, NATS, migrations, the services and the gateway.

Used by `make run` (through run.py) and by the system tests, which start it exactly the same way.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from divert_devstack import demo_site, seed
from divert_devstack.balancer import Balancer
from divert_devstack.nats import NatsServer, feeds_of, persisted_secret
from divert_devstack.nats_cluster import NatsCluster
from divert_devstack.postgres import PostgresServer, ensure_databases
from divert_devstack.procs import Supervisor, spawn, stop, wait_for_port
from divert_kernel import bus
from divert_kernel.bus import feed_user

log = logging.getLogger("divert.stack")

SERVICES = ("referral", "casemgmt", "consent", "prosecution", "audit", "evaluation")
DATABASES = (*SERVICES, "gateway")
DEVSTACK_RATE_LIMITS = {
    "GATEWAY_RATE_LIMITS": json.dumps(dict.fromkeys(("reads", "writes", "exports", "token"), "100000/minute")),
    "GATEWAY_TOKEN_FAILURES_PER_CLIENT": "100000/minute",
    "GATEWAY_TOKEN_FAILURES_PER_ADDRESS": "100000/minute",
}
PACKAGES = {**{s: s for s in SERVICES}, "gateway": "divert_gateway"}
APPS = (*SERVICES, "gateway")  # the processes run N times under DIVERT_REPLICAS=N
DEMO_JURISDICTION = demo_site.SEATTLE


MAX_REPLICAS = 16
NATS_CLUSTER_SIZES = (1, 3, 5)


@dataclass(frozen=True)
class Ports:
    """Where each part listens. With `replicas` > 1 the gateway's and each service's port is a front (the launcher's
    balancer) and its replicas listen from `replica_base` on, N ports per service in SERVICES order, then the
    gateway's N; with one replica there are no fronts and each process listens on its own port as before."""

    gateway: int = 8000
    postgres: int = 55432
    nats: int = 44222
    services: dict[str, int] = field(default_factory=lambda: {s: 8101 + i for i, s in enumerate(SERVICES)})
    replicas: int = 1
    replica_base: int = 8101 + len(SERVICES)
    nats_nodes: int = 1  # DIVERT_NATS_CLUSTER: client ports from `nats` on, then as many route ports

    @classmethod
    def from_env(cls) -> Ports:
        base = int(os.environ.get("DIVERT_SERVICE_BASE_PORT", "8101"))
        return cls(
            gateway=int(os.environ.get("DIVERT_GATEWAY_PORT", "8000")),
            postgres=int(os.environ.get("DIVERT_PG_PORT", "55432")),
            nats=int(os.environ.get("DIVERT_NATS_PORT", "44222")),
            services={s: base + i for i, s in enumerate(SERVICES)},
            replicas=replicas_from_env(),
            replica_base=base + len(SERVICES),
            nats_nodes=nats_cluster_from_env(),
        )

    def nats_ports(self) -> list[int]:
        return [self.nats + i for i in range(self.nats_nodes)]

    def nats_route_ports(self) -> list[int]:
        return [self.nats + self.nats_nodes + i for i in range(self.nats_nodes)] if self.nats_nodes > 1 else []

    def front(self, name: str) -> int:
        return self.gateway if name == "gateway" else self.services[name]

    def replica_ports(self, name: str) -> list[int]:
        """The ports `name`'s processes listen on (its front's port when it runs as one process)."""
        if self.replicas == 1:
            return [self.front(name)]
        first = self.replica_base + APPS.index(name) * self.replicas
        return list(range(first, first + self.replicas))


def nats_cluster_from_env() -> int:
    value = os.environ.get("DIVERT_NATS_CLUSTER", "1").strip() or "1"
    if not value.isdigit() or int(value) not in NATS_CLUSTER_SIZES:
        raise ValueError(f"DIVERT_NATS_CLUSTER must be one of {NATS_CLUSTER_SIZES} (nats-servers), not {value!r}")
    return int(value)


def replicas_from_env() -> int:
    value = os.environ.get("DIVERT_REPLICAS", "1").strip() or "1"
    if not value.isdigit() or not 1 <= int(value) <= MAX_REPLICAS:
        raise ValueError(f"DIVERT_REPLICAS must be a whole number from 1 to {MAX_REPLICAS}, not {value!r}")
    return int(value)


_secret = persisted_secret


def _ed25519_pem() -> str:
    from cryptography.hazmat.primitives import serialization as pem
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    return key.private_bytes(pem.Encoding.PEM, pem.PrivateFormat.PKCS8, pem.NoEncryption()).decode()


def migrations_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None, package
    return Path(spec.origin).parent.parent / "migrations"


def _with_database(server_url: str, database: str) -> str:
    """The URL of one database on the server an admin URL points at, with the asyncpg driver."""
    parts = urlsplit(server_url)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, f"/{database}", parts.query, ""))


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{parts.port}")) if parts.username else url


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class Stack:
    """Start, watch and stop the system; everything lives under `home`."""

    def __init__(
        self,
        home: Path,
        ports: Ports | None = None,
        *,
        extra_env: dict[str, str] | None = None,
        progress: Callable[[str], None] = log.info,
    ) -> None:
        self.home = home.resolve()
        self.progress = progress  # one line per start-up step, so a slow or stuck step shows where it is
        self.ports = ports or Ports.from_env()
        self.extra_env = extra_env or {}
        self.postgres: PostgresServer | None = None
        self.nats: NatsServer | NatsCluster | None = None
        self.apps: dict[str, subprocess.Popen[bytes]] = {}
        self._app_argv: dict[str, tuple[list[str], dict[str, str]]] = {}
        self.supervisor = Supervisor()
        self.balancer: Balancer | None = None  # the fronts, under DIVERT_REPLICAS > 1
        self.server_url = os.environ.get("DIVERT_DATABASE_URL")  # external PostgreSQL (admin URL), optional
        self.nats_url = os.environ.get("DIVERT_NATS_URL")  # external NATS (the operator's URL), optional
        # With an external NATS: its credentials file (NatsServer.credentials()), for a URL per service.
        self.nats_credentials_file = os.environ.get("DIVERT_NATS_CREDENTIALS")
        self.nats_credentials: dict = {}  # type: ignore[type-arg]

    def ports_to_bind(self) -> dict[str, int]:
        """Every port this stack will listen on, by what listens there (none for an external PostgreSQL or NATS)."""
        ports = {"gateway": self.ports.gateway, **self.ports.services}
        if self.ports.replicas > 1:
            for app in APPS:
                for name, port in zip(self.process_names(app), self.ports.replica_ports(app), strict=True):
                    ports[name] = port
        if self.server_url is None:
            ports["PostgreSQL"] = self.ports.postgres
        if self.nats_url is None:
            for i, port in enumerate(self.ports.nats_ports()):
                ports["NATS" if i == 0 else f"NATS {i + 1}"] = port
            for i, port in enumerate(self.ports.nats_route_ports()):
                ports[f"NATS route {i + 1}"] = port
        return ports

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def service_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports.services[service]}"

    def process_names(self, app: str) -> list[str]:
        """Each process of `app`, by the name its log file and the supervisor's lines use."""
        n = self.ports.replicas
        return [app] if n == 1 else [f"{app}-{i + 1}" for i in range(n)]

    def replica_urls(self, app: str) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports.replica_ports(app)]

    def database_url(self, database: str) -> str:
        assert self.server_url is not None
        return _with_database(self.server_url, database)

    # -- infrastructure ------------------------------------------------------------------------------

    def start_infrastructure(self) -> None:
        secrets_dir = self.home / "secrets"
        if self.server_url is None:
            password = _secret(secrets_dir / "postgres-password")
            self.postgres = PostgresServer(self.home / "postgres", self.ports.postgres, password=password)
            first = "" if (self.postgres.data_dir / "PG_VERSION").exists() else " (first run: creating the cluster)"
            self.progress(f"starting PostgreSQL on 127.0.0.1:{self.ports.postgres}{first}")
            self.postgres.start()
            self.server_url = _plain(self.postgres.url("postgres"))
        else:
            self.progress("using the PostgreSQL of DIVERT_DATABASE_URL")
        self.progress(f"creating any missing database ({', '.join(DATABASES)})")
        asyncio.run(ensure_databases(_plain(self.database_url("postgres")), list(DATABASES)))
        if self.nats_url is None:
            self.write_sites()
            feeds = feeds_of(json.loads(self.sites_file.read_text()))
            self.nats = self._nats_server(secrets_dir, feeds)
            self.nats.start()
            self.nats_url = self.nats.url
            self.nats_credentials = self.nats.credentials()
        else:
            self.progress("using the NATS of DIVERT_NATS_URL")
            if self.nats_credentials_file:
                self.nats_credentials = json.loads(Path(self.nats_credentials_file).read_text())

    def _nats_server(self, secrets_dir: Path, feeds: tuple) -> NatsServer | NatsCluster:  # type: ignore[type-arg]
        n = self.ports.nats_nodes
        if n == 1:
            self.progress(f"starting NATS (JetStream) on 127.0.0.1:{self.ports.nats}")
            return NatsServer(self.home / "nats", self.ports.nats, secrets_dir=secrets_dir, feeds=feeds)
        self.progress(f"starting a JetStream cluster of {n} nats-servers on 127.0.0.1:{self.ports.nats_ports()}")
        # Every stream on every node: each process creates its streams with this many replicas.
        self.extra_env.setdefault(bus.STREAM_REPLICAS_SETTING, str(n))
        return NatsCluster(
            self.home / "nats-cluster",
            self.ports.nats_ports(),
            self.ports.nats_route_ports(),
            secrets_dir=secrets_dir,
            feeds=feeds,
        )

    def nats_url_for(self, service: str) -> str:
        """The service's own NATS user; an external NATS given without credentials: its one URL for all."""
        return str(self.nats_credentials.get("services", {}).get(service, self.nats_url))

    def migrate(self) -> None:
        from divert_kernel.migrate import upgrade

        for name in DATABASES:
            self.progress(f"migrating the {name} database")
            upgrade(migrations_dir(PACKAGES[name]), self.database_url(name), kernel_tables=name != "gateway")

    # -- applications --------------------------------------------------------------------------------

    def _service_env(self, service: str) -> dict[str, str]:
        prefix = service.upper() + "_"
        return {
            prefix + "DATABASE_URL": self.database_url(service),
            prefix + "NATS_URL": self.nats_url_for(service),
            prefix + "JWKS_URL": f"{self.gateway_url}/.well-known/jwks.json",
            prefix + "TOKEN_ISSUER": self.gateway_url,
            prefix + "CONSENT_URL": self.service_url("consent"),
            prefix + "SITES_FILE": str(self.sites_file),
        } | (self._audit_env() if service == "audit" else {})

    def _audit_env(self) -> dict[str, str]:
        # The key that signs audit checkpoints: outside the audit database, kept across runs.
        key_file = self.home / "secrets" / "audit-checkpoint-key.pem"
        _secret(key_file, _ed25519_pem)
        return {"AUDIT_SIGNING_KEY_FILE": str(key_file)}

    def _gateway_env(self) -> dict[str, str]:
        env = {
            "GATEWAY_DATABASE_URL": self.database_url("gateway"),
            "GATEWAY_ISSUER": self.gateway_url,
            "GATEWAY_SIGNING_KEY_FILE": str(self.home / "secrets" / "signing-key.jwk.json"),
            "GATEWAY_BOOTSTRAP_CLIENTS_FILE": str(self.home / "demo-clients.json"),
            "GATEWAY_SITES_FILE": str(self.sites_file),
            "GATEWAY_NATS_URL": self.nats_url_for("gateway"),
            # Where partners connect, as /asyncapi.json tells them (never with a credential).
            "GATEWAY_PUBLIC_NATS_URL": ",".join(_without_credentials(u) for u in bus.servers(str(self.nats_url))),
            # The demo's webhook receivers listen on 127.0.0.1 (refused outside development).
            "GATEWAY_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        }
        # Every replica of each service: the gateway spreads requests over them itself, skipping one that is down.
        env.update({f"GATEWAY_{s.upper()}_URL": ",".join(self.replica_urls(s)) for s in SERVICES})
        # The delivery component's consent gate takes one address: the consent front, balanced by the launcher.
        env["GATEWAY_DELIVERY_CONSENT_URL"] = self.service_url("consent")
        # The system tests call far faster than any partner, from one address: generous limits here, unless the
        # environment names its own (tests/test_rate_limits.py proves the limits on a gateway of its own).
        env.update({k: v for k, v in DEVSTACK_RATE_LIMITS.items() if k not in os.environ})
        return env

    def _spawn_app(self, name: str, factory: str, port: int, env: dict[str, str]) -> None:
        full_env = {**os.environ, **env, **self.extra_env}
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--no-proxy-headers",  # no proxy in front locally: X-Forwarded-For is never believed (rate limits)
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--timeout-graceful-shutdown",
            "5",
        ]
        self._app_argv[name] = (argv, full_env)
        self.apps[name] = spawn(argv, log=self.home / "logs" / f"{name}.log", env=full_env)

    @property
    def sites_file(self) -> Path:
        return self.home / "sites.json"

    def start_apps(self) -> None:
        self.write_sites()
        self.write_demo_clients()
        if self.ports.replicas > 1:
            fronts = {self.ports.front(app): self.ports.replica_ports(app) for app in APPS}
            self.progress(f"{self.ports.replicas} processes each; balancing the fronts {sorted(fronts)}")
            self.balancer = Balancer(fronts)
            self.balancer.start()
        for app in APPS:
            factory = "divert_gateway.bootstrap:create" if app == "gateway" else f"{app}.bootstrap:create"
            env = self._gateway_env() if app == "gateway" else self._service_env(app)
            for name, port in zip(self.process_names(app), self.ports.replica_ports(app), strict=True):
                self.progress(f"starting {_called(name)} on 127.0.0.1:{port}")
                self._spawn_app(name, factory, port, env)
        for app in APPS:
            for name, port in zip(self.process_names(app), self.ports.replica_ports(app), strict=True):
                wait_for_port(port, proc=self.apps[name], timeout=60)
                self.progress(f"{name} is listening")
        self.progress("waiting for every process to answer /healthz")
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 60) -> None:
        urls = [url for app in APPS for url in self.replica_urls(app)]
        if self.ports.replicas > 1:
            urls += [self.gateway_url] + [self.service_url(s) for s in SERVICES]  # and through each front
        deadline = time.monotonic() + timeout
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} did not become healthy")
                time.sleep(0.1)

    # -- files partners read -------------------------------------------------------------------------

    def write_sites(self) -> None:
        """The demo site directory, written at first start; an operator's later edits are kept."""
        if not self.sites_file.exists():
            _write_private(self.sites_file, demo_site.sites())

    def write_demo_clients(self) -> None:
        secrets_dir = self.home / "secrets"
        clients = [
            {
                "client_id": f"{agency}-demo",
                "client_secret": _secret(secrets_dir / f"client-{agency}"),
                "agency_id": agency,
                "agency_type": agency_type,
                "jurisdictions": [jurisdiction],
                "scopes": [],
            }
            | self._nats_credentials(jurisdiction, agency)
            for jurisdiction, agencies in demo_site.AGENCIES.items()
            for agency, agency_type in agencies
        ]
        _write_private(self.home / "demo-clients.json", {"jurisdiction": DEMO_JURISDICTION, "clients": clients})

    def _nats_credentials(self, jurisdiction: str, agency: str) -> dict:  # type: ignore[type-arg]
        """What the agency passes to `nats.connect`, and the stream and durable of its feed (README)."""
        partner = self.nats_credentials.get("partners", {}).get(feed_user(jurisdiction, agency))
        return {"nats_credentials": partner} if partner else {}

    def write_endpoints(self) -> None:
        endpoints = {
            "gateway_url": self.gateway_url,
            "nats_url": self.nats_url,
            "services": {s: self.service_url(s) for s in SERVICES},
            # Each process's own address (its /healthz, /readyz and /metrics), by service and the gateway.
            "replicas": {app: self.replica_urls(app) for app in APPS},
            "jwks_url": f"{self.gateway_url}/.well-known/jwks.json",
            "token_url": f"{self.gateway_url}/oauth/token",
        }
        _write_private(self.home / "endpoints.json", endpoints)
        # What the `divert` command needs to operate this instance (credentials included, hence 0600).
        operator = {
            **endpoints,
            "nats_url": str(self.nats_credentials.get("operator", self.nats_url)),
            "databases": {name: self.database_url(name) for name in DATABASES},
        }
        _write_private(self.home / "operator.json", operator)

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "endpoints.json").unlink(missing_ok=True)
        try:
            self.start_infrastructure()
            self.migrate()
            self.start_apps()
            seeded = (self.home / "seeded").exists()
            self.progress("demo site policies: seeded earlier" if seeded else "seeding the demo site policies")
            seed.site_policies(self.gateway_url, self.home / "demo-clients.json", self.home / "seeded")
            self.write_endpoints()
        except BaseException:
            self.stop()
            raise

    def dead_apps(self) -> list[str]:
        return [name for name, proc in self.apps.items() if proc.poll() is not None]

    def children(self) -> dict[str, subprocess.Popen[bytes] | None]:
        """Every child the launcher owns, by name (PostgreSQL and NATS only when it started them)."""
        owned: dict[str, subprocess.Popen[bytes] | None] = {}
        if self.postgres is not None:
            owned["postgres"] = self.postgres._proc
        if isinstance(self.nats, NatsCluster):
            owned.update(self.nats.children())  # type: ignore[arg-type]
        elif self.nats is not None:
            owned["nats-server"] = self.nats._proc
        return {**owned, **self.apps}

    def supervise(self) -> list[str]:
        """Restart each child that has exited, with backoff; returns a line per restart for the console."""
        return self.supervisor.check(self.children(), self._restart)

    def _restart(self, name: str) -> None:
        if name == "postgres" and self.postgres is not None:
            self.postgres._proc = None
            self.postgres.start()
        elif name.startswith("nats-server-") and isinstance(self.nats, NatsCluster):
            self.nats.start_node(name)
        elif name == "nats-server" and isinstance(self.nats, NatsServer):
            self.nats._proc = None
            self.nats.start()
        else:
            argv, env = self._app_argv[name]
            self.apps[name] = spawn(argv, log=self.home / "logs" / f"{name}.log", env=env)

    def stop(self) -> None:
        """Stop the gateway first, then the services, then NATS and PostgreSQL."""
        for app in ["gateway", *reversed(SERVICES)]:
            for name in self.process_names(app):
                proc = self.apps.pop(name, None)
                if proc is not None:
                    stop(proc)
        if self.balancer is not None:
            self.balancer.stop()
            self.balancer = None
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()
        (self.home / "endpoints.json").unlink(missing_ok=True)
        (self.home / "operator.json").unlink(missing_ok=True)


def _called(name: str) -> str:
    return f"the {name}" if name.startswith("gateway") else f"the {name} service"


def _write_private(path: Path, data: object) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
    os.replace(tmp, path)
