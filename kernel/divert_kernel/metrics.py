"""`/metrics` in the Prometheus text format, and one JSON line per request, both by route template.

Labels are route templates, methods, status codes, durable names and decision results: bounded, and never a
raw path (ids are unbounded and personal-ish), a query string or a body. Each process keeps its own counters
(uvicorn workers and replicas are separate targets to Prometheus). The backlog gauges (outbox, dead letters,
consumer lag) are sampled when scraped, with a short timeout, so a scrape sees the numbers of that moment.

/metrics needs no token: it carries no personal data, and services are reached only inside the cluster.
The gateway faces partners, so its ingress should route /v1, /oauth, /docs and the contracts, not /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import Response
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from divert_kernel import bus, readiness

log = logging.getLogger("divert.http")

REQUESTS = Counter("divert_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "divert_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge("divert_outbox_backlog", "Events committed but not yet published to the bus")
OUTBOX_OLDEST = Gauge("divert_outbox_oldest_seconds", "Age of the oldest unpublished event (0 when none)")
DEAD_LETTERS = Gauge("divert_dead_letters", "Events a consumer gave up on, waiting for an operator", ["durable"])
CONSUMER_LAG = Gauge(
    "divert_consumer_lag", "Messages on the stream this durable consumer has not yet applied", ["durable"]
)
DECISIONS = Counter("divert_access_decisions", "Access decisions made by the consent service", ["result"])

UNMATCHED = "unmatched"  # refused before routing, or no route: the raw path is never a label
_QUIET = {"/healthz", "/readyz", "/metrics"}  # probes and scrapes: counted, not logged each time
SAMPLE_TIMEOUT_SECONDS = 2.0

_DEAD = sa.text("SELECT consumer, count(*) AS n FROM dead_letters GROUP BY consumer")


def count_decisions(results: Any) -> None:
    """Count decisions by result ("permit" / "deny"), once they are committed."""
    for result in results:
        DECISIONS.labels(result=result).inc()


class RequestMetrics:
    """Counts and times each request by its route template; logs it as `request_served` (no path, no query); sets
    the response status on the request's span (installed inside TracingMiddleware, by `install`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app raises before answering, the server's error handler answers 500
        span = trace.get_current_span()  # TracingMiddleware's, just outside: its status is set here (one wrapper)

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                span.set_attribute("http.response.status_code", status)
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        method = scope["method"]
        REQUESTS.labels(method=method, route=route, status=str(status)).inc()
        LATENCY.labels(method=method, route=route).observe(seconds)
        if route not in _QUIET:
            extra = {"method": method, "route": route, "status": status, "duration_ms": round(seconds * 1000, 1)}
            log.info("request_served", extra=extra)


async def _sample_database(app: FastAPI, durables: list[str]) -> None:
    try:
        async with asyncio.timeout(SAMPLE_TIMEOUT_SECONDS), app.state.engine.connect() as conn:
            backlog = (await conn.execute(readiness.OUTBOX_LAG)).one()
            dead = {row.consumer: row.n for row in await conn.execute(_DEAD)}
    except Exception as exc:  # noqa: BLE001 - a scrape must answer; NaN or absent series say "unknown", not stale
        log.info("metrics_sample_failed", extra={"source": "database", "error": type(exc).__name__})
        OUTBOX_BACKLOG.set(math.nan)
        OUTBOX_OLDEST.set(math.nan)
        DEAD_LETTERS.clear()
        return
    OUTBOX_BACKLOG.set(backlog.unpublished)
    OUTBOX_OLDEST.set(float(backlog.oldest_seconds))
    DEAD_LETTERS.clear()
    for durable in {*durables, *dead}:
        DEAD_LETTERS.labels(durable=durable).set(dead.get(durable, 0))


async def _sample_consumers(app: FastAPI) -> None:
    nc = getattr(app.state, "nats", None)
    CONSUMER_LAG.clear()
    if nc is None or not nc.is_connected:
        return
    js = nc.jetstream()
    for consumer in getattr(app.state, "consumers", ()):
        try:
            async with asyncio.timeout(SAMPLE_TIMEOUT_SECONDS):
                info = await js.consumer_info(bus.stream_name(consumer.source), consumer.name)
        except Exception as exc:  # noqa: BLE001 - the durable may not exist yet; the series stays absent
            log.info("metrics_sample_failed", extra={"source": consumer.name, "error": type(exc).__name__})
            continue
        CONSUMER_LAG.labels(durable=consumer.name).set((info.num_pending or 0) + (info.num_ack_pending or 0))


def install(app: FastAPI, *, backlog: bool = True) -> None:
    """Add the request middleware and `/metrics`; `backlog` samples the kernel's tables and consumers."""
    app.add_middleware(RequestMetrics)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus text format; see the module docstring for why it needs no token."""
        if backlog:
            consumers = getattr(app.state, "consumers", ())
            await _sample_database(app, [c.name for c in consumers])
            await _sample_consumers(app)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
