"""OpenTelemetry: exporter off by default, OTLP when configured, a JSON-lines file for tests.

Spans carry route templates, ids and codes only, never request bodies or personal data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Receive, Scope, Send

from divert_kernel import logs

_propagator = TraceContextTextMapPropagator()
# FastAPI's own telemetry (newer releases) exports raw paths, query strings and validation messages, any of
# which can hold personal data or refused text; Divert's spans come from TracingMiddleware alone.
# Any: FastAPI's TelemetryConfig exists only in those releases; older ones take the argument as an unused extra.
FASTAPI_NATIVE_OFF: Any = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
_configured = False


def setup(service: str) -> None:
    """Install the tracer provider and the JSON log lines once per process."""
    global _configured
    if _configured:
        return
    logs.setup(service)
    provider = TracerProvider(resource=Resource.create({"service.name": f"divert-{service}"}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace_file = os.environ.get("DIVERT_TRACE_FILE")
    if trace_file:
        out = open(trace_file, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
        exporter = ConsoleSpanExporter(out=out, formatter=lambda span: span.to_json(indent=None) + "\n")
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True


def tracer() -> trace.Tracer:
    return trace.get_tracer("divert")


def current_traceparent() -> str | None:
    """The W3C traceparent of the active span, for an envelope or an outgoing request."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    _propagator.inject(headers)
    return headers


@contextmanager
def span_from(traceparent: str | None, name: str, kind: SpanKind, **attributes: Any) -> Iterator[trace.Span]:
    """A span whose parent is the given traceparent (a request header or an envelope field)."""
    parent = _propagator.extract({"traceparent": traceparent}) if traceparent else otel_context.get_current()
    with tracer().start_as_current_span(name, context=parent, kind=kind, attributes=attributes) as span:
        yield span


class TracingMiddleware:
    """A server span per HTTP request, child of the caller's traceparent header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        traceparent = headers.get(b"traceparent", b"").decode("latin-1") or None
        # Named by the route template once routed, never by the raw path: a path can hold ids or refused text.
        with span_from(traceparent, scope["method"], SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", scope["method"])
            # No send wrapper of its own (a layer per response message): RequestMetrics, the next middleware in,
            # sets http.response.status_code on this span as it sees the response start.
            await self.app(scope, receive, send)
            route = scope.get("route")
            if route is not None and hasattr(route, "path"):
                span.update_name(f"{scope['method']} {route.path}")
