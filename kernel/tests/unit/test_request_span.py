"""A request's span carries its method, route and response status, with metrics and tracing sharing one send
wrapper (RequestMetrics sets the status on TracingMiddleware's span)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from divert_kernel import metrics, telemetry

_exported = InMemorySpanExporter()


def _provider() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_exported))
    trace.set_tracer_provider(provider)
    current = trace.get_tracer_provider()
    if current is not provider:  # another test of this process installed one first: export to it as well
        current.add_span_processor(SimpleSpanProcessor(_exported))  # type: ignore[attr-defined]


def test_the_request_span_carries_the_response_status_and_route() -> None:
    _provider()
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    metrics.install(app, backlog=False)
    app.add_middleware(telemetry.TracingMiddleware)
    with TestClient(app) as client:
        assert client.get("/things/abc").status_code == 200
        assert client.get("/nowhere").status_code == 404
    spans = {s.name: s for s in _exported.get_finished_spans() if s.kind == trace.SpanKind.SERVER}
    assert spans["GET /things/{thing_id}"].attributes["http.response.status_code"] == 200
    assert spans["GET"].attributes["http.response.status_code"] == 404  # unmatched: never named by its raw path
