"""What operators read: JSON log lines without personal data, /metrics by route template, liveness vs readiness.

The log tests read the files the launcher's children write (the whole system, as under `make run`); the
metrics and probe tests run one service in process against real PostgreSQL and NATS, with a dependency
removed or held where the test needs it.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from consent.bootstrap import create as create_consent
from consent.config import ConsentSettings
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.procs import free_port
from divert_devstack.testing import create_database, eventually, running, service_settings
from divert_kernel import readiness
from referral.bootstrap import create as create_referral
from referral.config import ReferralSettings
from tests.conftest import System
from tests.partner import referral_body

APPS = ("referral", "casemgmt", "consent", "prosecution", "audit", "gateway")
EVENT = re.compile(r"^[a-z][a-z0-9_]*$")
RELAY_LOCK = "SELECT pg_advisory_lock(hashtext('divert-outbox-relay'))"


def _lines(system: System, app: str) -> list[dict]:
    text = (system.home / "logs" / f"{app}.log").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _request_line(system: System, app: str, trace_id: str) -> dict | None:
    found = [line for line in _lines(system, app) if line["event"] == "request_served" and line["trace_id"] == trace_id]
    return found[0] if found else None


class TestLogLines:
    def test_every_line_is_json_with_the_fields_and_no_personal_data(self, system: System) -> None:
        mark = secrets.token_hex(4)
        name, place, rms = f"Zephyrine{mark}", f"Quillfeather Lane {mark}", f"P-OBS-{mark}"
        trace_id = secrets.token_hex(16)
        traced = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
        police = system.partner("police")
        body = referral_body(rms)
        body["person"]["first_name"] = name
        body["incident"]["location"] = place
        created = police.post("/v1/referrals", json=body, headers=traced)
        assert created.status_code == 201, created.text
        # Where personal data could slip into a log: a refused body, a raw path, a query string.
        refused = referral_body(rms)
        refused["person"]["date_of_birth"] = name
        assert police.post("/v1/referrals", json=refused).status_code == 422
        assert police.get(f"/v1/referrals/{name}").status_code in (404, 422)
        lookup = police.get("/v1/people/lookup", params={"jurisdiction": "seattle-king-county", "rms_person_id": rms})
        assert lookup.status_code in (200, 403), lookup.text  # answered or withheld, never logged with its query
        system.partner("prosecutor").wait_for(
            f"/v1/held-charges/{created.json()['referral_id']}", lambda r: r.status_code == 200
        )

        deadline = time.monotonic() + 10
        while not (_request_line(system, "referral", trace_id) and _request_line(system, "gateway", trace_id)):
            assert time.monotonic() < deadline, "no request line carries the caller's trace id"
            time.sleep(0.1)
        served = _request_line(system, "referral", trace_id)
        assert served is not None and served["route"] == "/v1/referrals" and served["status"] == 201
        for app in APPS:
            for line in _lines(system, app):
                assert {"time", "level", "service", "event", "trace_id"} <= line.keys(), line
                assert line["service"] == app and EVENT.match(line["event"]), line
        for log_file in (system.home / "logs").iterdir():
            text = log_file.read_text(errors="replace")
            for personal in (name, place, rms, mark):
                assert personal not in text, f"{personal!r} in {log_file.name}"

    def test_the_gateway_counts_requests_by_route_template(self, system: System) -> None:
        gateway = httpx.Client(base_url=system.endpoints["gateway_url"], timeout=10)
        before = _samples(gateway.get("/metrics").text)
        assert gateway.get(f"/v1/referrals/{uuid4()}").status_code == 401
        after = _samples(gateway.get("/metrics").text)
        proxied = ("/v1/{path:path}", "GET", "401")
        assert _requests(after, *proxied) == _requests(before, *proxied) + 1


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def _scrape(service: httpx.AsyncClient) -> dict[tuple[str, frozenset], float]:
    reply = await service.get("/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    return _samples(reply.text)


def _requests(samples: dict, route: str, method: str, status: str) -> float:
    labels = frozenset({"route": route, "method": method, "status": status}.items())
    return samples.get(("divert_http_requests_total", labels), 0.0)


async def test_metrics_count_by_route_template_and_show_the_backlogs(
    postgres: PostgresServer, jwks_file: Path, tokens_for: Callable
) -> None:
    url = await create_database(postgres, "referral")
    dead_nats = f"nats://127.0.0.1:{free_port()}"
    settings = ReferralSettings(**service_settings(database_url=url, nats_url=dead_nats, jwks_file=jwks_file))
    police = tokens_for("police")
    async with running(create_referral(settings)) as service:
        before = await _scrape(service)
        created = await service.post("/v1/referrals", json=referral_body("P-METRICS-1"), headers=police)
        assert created.status_code == 201, created.text
        referral_id = created.json()["referral_id"]
        assert (await service.get(f"/v1/referrals/{referral_id}", headers=police)).status_code == 200
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            await conn.execute(
                "INSERT INTO dead_letters (consumer, event_id, subject, envelope, error, attempts) "
                "VALUES ('referral-from-casemgmt', 'e-1', 's', '{}', 'ValueError', 5)"
            )
        finally:
            await conn.close()
        after = await _scrape(service)
    posted = ("/v1/referrals", "POST", "201")
    assert _requests(after, *posted) == _requests(before, *posted) + 1
    assert _requests(after, "/v1/referrals/{referral_id}", "GET", "200") >= 1
    assert not any(referral_id in str(labels) for _, labels in after), "a raw id became a label"
    # NATS is away: the referral's events wait in the outbox, and say so.
    assert after[("divert_outbox_backlog", frozenset())] >= 1
    assert after[("divert_dead_letters", frozenset({"durable": "referral-from-casemgmt"}.items()))] == 1
    histogram = frozenset({"route": "/v1/referrals", "method": "POST", "le": "+Inf"}.items())
    assert after[("divert_http_request_duration_seconds_bucket", histogram)] >= 1


async def test_consumer_lag_per_durable_and_consent_decisions_by_result(
    postgres: PostgresServer, module_nats: NatsServer, jwks_file: Path, tokens_for: Callable, sites_file: Path
) -> None:
    url = await create_database(postgres, "consent")
    base = service_settings(database_url=url, nats_url=module_nats.url, jwks_file=jwks_file)
    auth = tokens_for("prosecutor", agency="kc-prosecutor")
    ask = {
        "participant_id": str(uuid4()),
        "jurisdiction": "seattle-king-county",
        "requester_agency": "kc-prosecutor",
        "category": "assessment",
        "purpose": "diversion_monitoring",
    }
    async with running(create_consent(ConsentSettings(**base, sites_file=str(sites_file)))) as service:
        before = await _scrape(service)
        reply = await service.post("/v1/access-decisions", json=ask, headers=auth)
        assert reply.status_code == 200 and reply.json()["decision"] == "deny", reply.text

        async def lag_of_every_durable() -> dict | None:
            samples = await _scrape(service)
            lags = {
                dict(labels)["durable"]: v for (name, labels), v in samples.items() if name == "divert_consumer_lag"
            }
            return samples if {"consent-from-referral", "consent-from-casemgmt"} <= lags.keys() else None

        after = await eventually(lag_of_every_durable)
    denied = ("divert_access_decisions_total", frozenset({"result": "deny"}.items()))
    assert after[denied] == before.get(denied, 0.0) + 1
    assert after[("divert_outbox_backlog", frozenset())] >= 0


async def test_healthz_answers_while_the_database_is_unreachable_and_readyz_does_not(jwks_file: Path) -> None:
    closed = f"postgresql+asyncpg://divert:divert@127.0.0.1:{free_port()}/referral"
    dead_nats = f"nats://127.0.0.1:{free_port()}"
    settings = ReferralSettings(**service_settings(database_url=closed, nats_url=dead_nats, jwks_file=jwks_file))
    async with running(create_referral(settings)) as service:
        health = await service.get("/healthz")
        ready = await service.get("/readyz")
        scraped = await _scrape(service)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False, ready.text
    # A scrape still answers; what it could not sample is unknown (NaN) rather than stale.
    assert math.isnan(scraped[("divert_outbox_backlog", frozenset())])


async def test_outbox_lag_over_the_threshold_means_not_ready(
    postgres: PostgresServer, module_nats: NatsServer, jwks_file: Path, tokens_for: Callable
) -> None:
    url = await create_database(postgres, "referral")
    settings = ReferralSettings(**service_settings(database_url=url, nats_url=module_nats.url, jwks_file=jwks_file))
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        async with running(create_referral(settings)) as service:
            await eventually(lambda: _status(service, "/readyz", 200))
            await conn.execute(RELAY_LOCK)  # the relay cannot take its turn: events stay in the outbox
            created = await service.post("/v1/referrals", json=referral_body("P-LAG-1"), headers=tokens_for("police"))
            assert created.status_code == 201, created.text
            stuck = f"now() - interval '{readiness.MAX_OUTBOX_LAG_SECONDS + 30} seconds'"
            await conn.execute(f"UPDATE events SET recorded_at = {stuck}")
            ready = await service.get("/readyz")
            checks = ready.json()["checks"]
            assert ready.status_code == 503, ready.text
            assert checks["outbox"]["ok"] is False and checks["outbox"]["unpublished"] >= 1
            assert checks["database"]["ok"] and checks["nats"]["ok"]
            await conn.execute("SELECT pg_advisory_unlock(hashtext('divert-outbox-relay'))")
            await eventually(lambda: _status(service, "/readyz", 200))
    finally:
        await conn.close()


async def _status(service: httpx.AsyncClient, path: str, status: int) -> bool:
    return (await service.get(path)).status_code == status
