"""One OpenTelemetry trace links the gateway request, the referral service and the prosecution consumer."""

from __future__ import annotations

import json
import secrets
import time

from tests.conftest import System
from tests.partner import referral_body


def _spans(system: System, trace_id: str) -> list[dict]:
    found = []
    for line in system.trace_file.read_text().splitlines():
        span = json.loads(line)
        if span["context"]["trace_id"] == f"0x{trace_id}":
            found.append(span)
    return found


class TestOneTraceAcrossTheBus:
    def test_gateway_referral_and_prosecution_consumer_share_the_trace(self, system: System) -> None:
        trace_id = secrets.token_hex(16)
        traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
        reply = system.partner("police").post(
            "/v1/referrals", json=referral_body("P-TRACE-1"), headers={"traceparent": traceparent}
        )
        assert reply.status_code == 201, reply.text
        system.partner("prosecutor").wait_for(
            f"/v1/held-charges/{reply.json()['referral_id']}", lambda r: r.status_code == 200
        )
        deadline = time.monotonic() + 10
        while True:
            spans = _spans(system, trace_id)
            services = {s["resource"]["attributes"]["service.name"] for s in spans}
            consumer = [
                s
                for s in spans
                if s["name"] == "consume referral.DiversionOffered"
                and s["resource"]["attributes"]["service.name"] == "divert-prosecution"
            ]
            if (
                {"divert-gateway", "divert-referral", "divert-prosecution"} <= services and consumer
            ) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert {"divert-gateway", "divert-referral", "divert-prosecution"} <= services
        assert consumer, "the prosecution consumer's span is missing from the trace"
        assert consumer[0]["kind"] == "SpanKind.CONSUMER"

    def test_spans_carry_no_personal_data(self, system: System) -> None:
        text = system.trace_file.read_text()
        for personal in ("Alex", "Doe", "1990-04-01", "3rd Ave"):
            assert personal not in text

    def test_every_span_is_divert_s_own(self, system: System) -> None:
        """FastAPI's built-in telemetry stays off (telemetry.FASTAPI_NATIVE_OFF) in every process: its spans carry
        raw paths and query strings, and would double each request's tracing work (issue 15)."""
        spans = [json.loads(line) for line in system.trace_file.read_text().splitlines()]
        assert spans
        native = {"url.path", "url.query", "url.scheme", "code.function.name"}
        assert not [s["name"] for s in spans if native & set(s["attributes"] or {})]
