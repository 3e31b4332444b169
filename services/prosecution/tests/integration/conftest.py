"""The prosecution service with its lifespan running, the clock in the test's hand, and a bus to publish on."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from fastapi import FastAPI

from divert_contracts.referral import DiversionOffered
from divert_devstack import demo_site
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import consent_service, create_database, diversion_offered, running, service_settings
from divert_kernel.clock import FixedClock
from divert_kernel.messagebus import MessageBus
from prosecution.bootstrap import create
from prosecution.config import ProsecutionSettings
from prosecution.domain.commands import LapseDueCharges
from prosecution.service_layer.handlers import Handlers

OFFERED_AT = datetime(2026, 11, 1, 9, tzinfo=UTC)
DEADLINE = date(2026, 12, 1)


def make_offer(referral_id: str, participant_id: str, referral_type: str = "arrest_diversion") -> DiversionOffered:
    return diversion_offered(
        referral_id, participant_id, referral_type=referral_type, intake_deadline=DEADLINE, offered_at=OFFERED_AT
    )


# The demo's two sites, and a second prosecutor agency in Seattle (a city attorney), so that "another office of
# the same type in the same site" is real. The site's office holding diverted charges stays `kc-prosecutor`.
OFFICE = "kc-prosecutor"
SECOND_OFFICE = "seattle-city-attorney"


def demo_sites_with_a_second_office() -> dict[str, Any]:
    sites = demo_site.sites()
    seattle = next(s for s in sites["sites"] if s["jurisdiction"] == demo_site.SEATTLE)
    seattle["agencies"].append({"agency_id": SECOND_OFFICE, "agency_type": "prosecutor"})
    return sites


@pytest.fixture(scope="session")
def sites_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sites") / "sites.json"
    path.write_text(json.dumps(demo_sites_with_a_second_office()))
    return path


@pytest.fixture(scope="session")
def office(tokens_for: Callable[..., dict[str, str]]) -> dict[str, str]:
    """The Seattle prosecutor's office: it holds every charge diverted in Seattle."""
    return tokens_for("prosecutor", agency=OFFICE)


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock(OFFERED_AT)


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "prosecution")


@pytest.fixture(scope="module")
def app(database: str, module_nats: NatsServer, jwks_file: Path, sites_file: Path, clock: FixedClock) -> FastAPI:
    # The periodic lapse job is parked; tests drive lapses with the clock in hand.
    settings = ProsecutionSettings(
        **service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file),
        sites_file=str(sites_file),
        lapse_every_seconds=3600,
    )
    return create(settings, clock)


@pytest.fixture(scope="module")
async def service(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


async def run_lapse(app: FastAPI, handlers: Handlers | None = None) -> int:
    """Send the lapse command through the bus, as the scheduler does (through a second replica's bus when given
    that replica's handlers)."""
    bus = app.state.bus if handlers is None else MessageBus(app.state.engine, "prosecution", handlers.commands())  # type: ignore[arg-type]
    return await bus.handle(LapseDueCharges())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def bus(module_nats: NatsServer) -> AsyncIterator[nats.NATS]:
    nc = await nats.connect(module_nats.url)
    yield nc
    await nc.close()


@pytest.fixture(scope="session")
def offer() -> Callable[..., DiversionOffered]:
    """A DiversionOffered as the referral service publishes it (deadline 2026-12-01)."""
    return make_offer


@pytest.fixture(scope="session")
def lapse() -> Callable[..., Awaitable[int]]:
    """One pass of the lapse job, as the periodic task runs it."""
    return run_lapse


class ConsentDouble:
    """The consent service's decision API over real HTTP: denies unless (agency, category) was permitted, and
    keeps every request so a test can see that the gate was asked (and for what)."""

    def __init__(self) -> None:
        self.permits: set[tuple[str, str]] = set()
        self.requests: list[dict[str, Any]] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                asks = body["requests"] if self.path.endswith("/batch") else [body]
                double.requests.extend(asks)
                decisions = [{"decision": double.decide(ask)} for ask in asks]
                answer = {"decisions": decisions} if self.path.endswith("/batch") else decisions[0]
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def decide(self, ask: dict[str, Any]) -> str:
        return "permit" if (ask["requester_agency"], ask["category"]) in self.permits else "deny"

    def asked(self, agency: str) -> list[str]:
        """The categories `agency` was decided on, in order."""
        return [r["category"] for r in self.requests if r["requester_agency"] == agency]


@pytest.fixture(scope="module")
def consent() -> Iterator[ConsentDouble]:
    double = ConsentDouble()
    thread = threading.Thread(target=double._server.serve_forever, daemon=True)
    thread.start()
    yield double
    double._server.shutdown()
    double._server.server_close()


@pytest.fixture(scope="module")
async def real_consent_url(
    postgres: PostgresServer,
    module_nats: NatsServer,
    jwks_file: Path,
    sites_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """The consent service itself, as its own process: it sees the same referral events this service does."""
    database, log_dir = await create_database(postgres, "consent"), tmp_path_factory.mktemp("consent")
    async with consent_service(database, module_nats.url, jwks_file, sites_file, log_dir) as url:
        yield url
