"""Wire the gateway: token server, key, client registry, upstream pools, routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from divert_gateway.adapters import clients, feeds, keys, ratelimits, upstreams
from divert_gateway.config import GatewaySettings
from divert_gateway.delivery import runner
from divert_gateway.entrypoints import contracts, docs, feed_replay, oauth, proxy, ratelimit, readiness, webhooks
from divert_gateway.service_layer import TokenServer
from divert_kernel import metrics, problems, telemetry
from divert_kernel.app import operation_id
from divert_kernel.clock import Clock, SystemClock
from divert_kernel.db import make_engine
from divert_kernel.limits import BodySizeLimit


def create(settings: GatewaySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    clock = clock or SystemClock()
    telemetry.setup("gateway")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Delivery (intake, feeds, webhooks) and the gateway's own routes: the proxy needs no connection.
        app.state.engine = make_engine(settings.database_url, pool_size=10)
        # The key set lives in the gateway database, shared by every replica (adapters/keys.py).
        await keys.ensure_one(app.state.engine, settings.signing_key_file)
        lifetime = timedelta(seconds=settings.token_ttl_seconds)
        app.state.keyring = keys.KeyRing(app.state.engine, lifetime, clock.now)
        await oauth.refresh(app)
        key = app.state.keyring.current  # the signing key as of each call: tokens follow a rotation
        app.state.token_server = TokenServer(
            issuer=settings.issuer, audience=settings.audience, key=key, ttl=settings.token_ttl_seconds
        )
        current = asyncio.create_task(oauth.keep_current(app), name="gateway-keys-and-revocations")
        # Its own small pool: counting requests never waits behind the requests' own database work.
        counters = ratelimits.storage_for(settings.database_url, clock)
        app.state.rate_limiter = ratelimit.Limiter(counters, settings, clock)
        app.state.rate_limiter.counts.start()
        if settings.bootstrap_clients_file is not None and settings.bootstrap_clients_file.exists():
            await clients.register(app.state.engine, clients.read_clients_file(settings.bootstrap_clients_file))
        # Idle connections are dropped before uvicorn's 5 s keep-alive closes them from the other end; reusing
        # one the service is closing at that instant fails the request with a needless 503.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=2.0)
        app.state.upstreams = {
            name: upstreams.Replicas(urls, timeout=settings.upstream_timeout_seconds, limits=limits)
            for name, urls in settings.upstreams().items()
        }
        app.state.merged_openapi = None
        app.state.feed_provisioning = feeds.start()  # each agency's NATS feed stream and durable (§7a)
        app.state.delivery_clock = clock
        delivery = None
        if settings.nats_url:
            app.state.dispatcher = runner.dispatcher_for(app, key, clock)
            delivery = asyncio.create_task(runner.run(app, app.state.dispatcher, clock))
        try:
            yield
        finally:
            current.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await current
            if delivery is not None:
                delivery.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await delivery
                await app.state.dispatcher.close()
            for upstream in app.state.upstreams.values():
                await upstream.aclose()
            await app.state.engine.dispose()
            await app.state.rate_limiter.counts.close()
            await counters.close()

    app = FastAPI(
        title="Divert API",
        version="1",
        description="The data backbone of a LEAD site. Every /v1 call needs a bearer token from /oauth/token.",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=telemetry.FASTAPI_NATIVE_OFF,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    problems.install(app)
    app.include_router(oauth.router)
    app.include_router(docs.router)
    app.include_router(contracts.router)
    app.include_router(webhooks.router)  # before the proxy's catch-all /v1/{path}
    app.include_router(feed_replay.router)
    app.include_router(proxy.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """The process is alive; nothing more (see /readyz)."""
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """The gateway's database and every service's own /readyz; 503 unless all are ready."""
        return await readiness.report(app)

    app.add_middleware(ratelimit.RateLimits)  # inside the size bound: it reads token requests' bodies
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    metrics.install(app, backlog=False)  # requests and latency; the gateway has no outbox or consumers
    app.add_middleware(telemetry.TracingMiddleware)
    return app
