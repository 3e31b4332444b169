"""The service application factory: one place wires HTTP, database, bus, relay and consumers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from nats.aio.client import Client

from divert_kernel import bus, idempotency, metrics, problems, readiness, telemetry
from divert_kernel.auth import CurrentPrincipal, TokenVerifier, revocations_beside
from divert_kernel.clock import Clock, SystemClock
from divert_kernel.consumer import Consumer, EventHandler
from divert_kernel.db import make_engine
from divert_kernel.gate import ConsentGate
from divert_kernel.limits import BodySizeLimit
from divert_kernel.messagebus import CommandHandler, MessageBus
from divert_kernel.outbox import OutboxRelay
from divert_kernel.schedule import Every, Scheduler
from divert_kernel.settings import ServiceSettings
from divert_kernel.sites import load_sites
from divert_kernel.text_guard import TextGuard

log = logging.getLogger("divert.app")


@dataclass
class ServiceSpec:
    """What a service brings: its routers, command handlers, and event handlers per source service."""

    name: str
    title: str
    routers: Sequence[APIRouter]
    commands: Mapping[type, CommandHandler]
    subscriptions: Mapping[str, Mapping[str, EventHandler]] = field(default_factory=dict)
    # Timed commands (lapsing deadlines, sealing checkpoints), sent through the bus on one replica at a time.
    schedules: Sequence[Every] = ()
    # Other work for the app's life, given the app.
    background: Sequence[Callable[[FastAPI], Awaitable[None]]] = ()


async def _connect_forever(url: str, name: str) -> Client:
    while True:
        try:
            return await bus.connect(url, name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("nats_unreachable", extra={"error": type(exc).__name__})
            await asyncio.sleep(0.5)


async def _run_messaging(app: FastAPI, spec: ServiceSpec, settings: ServiceSettings) -> None:
    nc = await _connect_forever(settings.nats_url, f"divert-{spec.name}")
    app.state.nats = nc
    relay = OutboxRelay(app.state.engine, spec.name, nc, public_base_url=settings.public_base)
    app.state.relay = relay
    consumers = [
        Consumer(app.state.engine, nc, subscriber=spec.name, source=source, handlers=handlers, on_commit=relay.wake)
        for source, handlers in spec.subscriptions.items()
    ]
    app.state.consumers = consumers  # for /metrics: each durable's lag
    await asyncio.gather(relay.run(), *(c.run() for c in consumers))


async def _supervised(job: Callable[[FastAPI], Awaitable[None]], app: FastAPI) -> None:
    """Run a background job for the app's life; if it fails, log and start it again."""
    while True:
        try:
            await job(app)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            job_name = getattr(job, "__name__", "job")
            log.warning("background_job_restarting", extra={"job": job_name, "error": type(exc).__name__})
            await asyncio.sleep(1)


def create_app(spec: ServiceSpec, settings: ServiceSettings, clock: Clock | None = None) -> FastAPI:
    """A FastAPI app for one service, with its lifespan owning every background task."""
    telemetry.setup(spec.name)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
        app.state.verifier = TokenVerifier(
            settings.jwks_url,
            settings.token_issuer,
            settings.token_audience,
            revocations_source=revocations_beside(settings.jwks_url),  # disabled clients' tokens, within seconds
        )
        app.state.gate = ConsentGate(settings.consent_url)
        app.state.relay = None
        app.state.bus = MessageBus(app.state.engine, spec.name, spec.commands, on_commit=_wake_relay(app))
        tasks = [asyncio.create_task(_run_messaging(app, spec, settings), name=f"{spec.name}-messaging")]
        # The revocation list off the request path; a request still refreshes it if this stops (bounded staleness).
        tasks.append(asyncio.create_task(app.state.verifier.keep_current(), name=f"{spec.name}-revocations"))
        jobs = [*spec.background, idempotency.purge_periodically]
        tasks += [asyncio.create_task(_supervised(job, app), name=f"{spec.name}-background") for job in jobs]
        if spec.schedules:
            scheduler = Scheduler(app.state.engine, spec.name, app.state.bus, spec.schedules)
            tasks.append(asyncio.create_task(scheduler.run(), name=f"{spec.name}-schedule"))
        try:
            yield
        finally:
            await _stop(tasks)
            if getattr(app.state, "nats", None) is not None:
                with contextlib.suppress(Exception):
                    await app.state.nats.close()
            await app.state.gate.close()
            await app.state.verifier.close()
            await app.state.engine.dispose()

    app = FastAPI(
        title=spec.title,
        version="1",
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
        telemetry=telemetry.FASTAPI_NATIVE_OFF,
        generate_unique_id_function=operation_id,
    )
    app.state.clock = clock or SystemClock()
    app.state.settings = settings
    app.state.sites = load_sites(settings.sites_file)
    app.state.schedules = spec.schedules
    problems.install(app)
    idempotency.install(app)
    for router in spec.routers:
        app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """The process is alive; nothing more (see /readyz)."""
        return {"status": "ok", "service": spec.name}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Database, NATS and outbox lag; 503 when the service cannot do its work now."""
        return await readiness.report(app, spec.name)

    @app.get("/auth/check", include_in_schema=False)
    async def auth_check(principal: CurrentPrincipal) -> dict[str, str]:
        """The cheapest authenticated call: token verified, nothing else (a baseline for benchmarks)."""
        return {"agency": principal.agency, "agency_type": principal.agency_type}

    # Outermost last: trace, bound the body, refuse unstorable text, then keyed POSTs commit with their answer.
    app.add_middleware(idempotency.IdempotencyKeys)
    app.add_middleware(TextGuard)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    metrics.install(app)  # inside the trace, so its request line carries the trace id
    app.add_middleware(telemetry.TracingMiddleware)
    _add_problem_schema(app)
    return app


def operation_id(route: APIRoute) -> str:
    """An SDK-style operation id: the route function's name in camelCase (`submit_referral` → `submitReferral`)."""
    first, *rest = route.name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel until each task ends: on Python 3.11 a cancel that lands as nats-py's connect times out is lost
    (asyncio.wait_for), and its connect loop would then retry for ever and the shutdown never finish."""
    pending = set(tasks)
    for _ in range(20):
        for task in pending:
            task.cancel()
        done, pending = await asyncio.wait(pending, timeout=0.5)
        for task in done:
            if not task.cancelled():
                task.exception()  # retrieved: a job that failed on its way out has nothing left to report
        if not pending:
            return
    log.warning("tasks_not_stopped", extra={"tasks": sorted(t.get_name() for t in pending)})


def _wake_relay(app: FastAPI):  # type: ignore[no-untyped-def]
    def wake() -> None:
        relay = getattr(app.state, "relay", None)
        if relay is not None:
            relay.wake()

    return wake


def _add_problem_schema(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict:  # type: ignore[type-arg]
        schema = original()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "the request field that was wrong"},
        "invalid_params": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "reason": {"type": "string"}}},
        },
    },
    "required": ["title", "status", "detail"],
}
