"""The evaluation service on real PostgreSQL and NATS: events in from the other services' streams, the
continuum out, suppressed, as JSON or CSV; bad periods and views refused naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest
from fastapi import FastAPI

from divert_contracts.casemgmt import IntakeCompleted
from divert_contracts.referral import ContactScreened, DiversionAccepted, EligibleContactNotDiverted
from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import (
    create_database,
    diversion_offered,
    eventually,
    publish_as,
    running,
    service_settings,
)
from divert_kernel.clock import FixedClock
from evaluation.bootstrap import create
from evaluation.config import EvaluationSettings

OCT = datetime(2026, 10, 6, 17, tzinfo=UTC)
J = "seattle-king-county"


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    return await create_database(postgres, "evaluation")


@pytest.fixture(scope="module")
def app(database: str, module_nats: NatsServer, jwks_file: Path, sites_file: Path) -> FastAPI:
    common = service_settings(database_url=database, nats_url=module_nats.url, jwks_file=jwks_file)
    return create(
        EvaluationSettings(**common, sites_file=str(sites_file)), FixedClock(datetime(2027, 2, 1, tzinfo=UTC))
    )


@pytest.fixture(scope="module")
async def service(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


@pytest.fixture(scope="module")
async def seeded(service: httpx.AsyncClient, module_nats: NatsServer, database: str) -> int:
    """Fifteen white and twelve black diversions accepted, the white ones enrolled; three screenings, one
    discretion record (primary-suppressed); published as the referral and case-management services would."""
    nc = await nats.connect(module_nats.url)
    sent = 0
    for i in range(27):
        race = "white" if i < 15 else "black"
        rid, pid = f"00000000-0000-4000-8000-{i:012d}", f"00000000-0000-4000-9000-{i:012d}"
        offer = diversion_offered(rid, pid, race=race, offered_at=OCT, intake_deadline=date(2026, 11, 5))
        await publish_as(nc, "referral", offer, jurisdiction=J)
        await publish_as(
            nc, "referral", DiversionAccepted(referral_id=rid, participant_id=pid, accepted_at=OCT), jurisdiction=J
        )
        sent += 2
        if race == "white":
            intake = IntakeCompleted(participant_id=pid, referral_ids=[rid], completed_at=OCT + timedelta(days=4))
            await publish_as(nc, "casemgmt", intake, jurisdiction=J)
            sent += 1
    for i in range(3):
        screened = ContactScreened(
            screening_id=f"s{i}",
            referral_type="arrest_diversion",
            offense_codes=["35A"],
            exclusions_present=[],
            eligible=True,
            reasons=[],
            policy_version=1,
            screened_at=OCT,
            race="asian",
        )
        await publish_as(nc, "referral", screened, jurisdiction=J)
        sent += 1
    record = EligibleContactNotDiverted(
        record_id="d1",
        offense_codes=["35A"],
        reason="officer_judgment",
        officer_badge="B-9",
        race="black",
        ethnicity="unknown",
        gender="male",
        age_band="25-34",
        recorded_at=OCT,
    )
    await publish_as(nc, "referral", record, jurisdiction=J)
    sent += 1
    await nc.close()

    async def stored() -> bool:
        conn = await asyncpg.connect(database.replace("+asyncpg", ""))
        try:
            return await conn.fetchval("SELECT count(*) FROM evaluation_facts") == sent
        finally:
            await conn.close()

    await eventually(stored, timeout=30)
    return sent


def rows(reply: httpx.Response) -> dict[tuple[str, str], dict]:
    assert reply.status_code == 200, reply.text
    return {(r["stage"], r["group"]): r for r in reply.json()["rows"]}


class TestTheContinuum:
    async def test_the_evaluator_gets_counts_rates_and_indexes(
        self, service: httpx.AsyncClient, seeded: int, tokens_for: Callable
    ) -> None:
        params = {"jurisdiction": J, "period": "2026Q4", "by": "race"}
        got = rows(await service.get("/v1/evaluation/continuum", params=params, headers=tokens_for("evaluator")))
        assert got[("offered", "white")]["count"] == 15 and got[("offered", "black")]["count"] == 12
        assert got[("accepted", "black")]["rate"] == 1.0
        assert got[("enrolled", "black")]["count"] == 0
        assert got[("offered", "total")]["count"] == 27
        assert got[("screened", "asian")] | {"count": None, "suppressed": True} == got[("screened", "asian")]
        assert got[("not_diverted", "black")]["suppressed"] and got[("not_diverted", "black")]["count"] is None

    async def test_csv_gives_the_same_rows(self, service: httpx.AsyncClient, seeded: int, tokens_for: Callable) -> None:
        params = {"jurisdiction": J, "period": "2026-10", "by": "ethnicity"}
        headers = tokens_for("project_manager")
        as_json = await service.get("/v1/evaluation/continuum", params=params, headers=headers)
        as_csv = await service.get("/v1/evaluation/continuum", params=params, headers={**headers, "accept": "text/csv"})
        assert as_csv.headers["content-type"].startswith("text/csv")
        lines = as_csv.text.strip().split("\n")
        assert lines[0] == "stage,group,count,rate,relative_rate_index,suppressed,value"
        assert len(lines) == 1 + len(as_json.json()["rows"])

    async def test_police_see_their_own_units_only(
        self, service: httpx.AsyncClient, seeded: int, tokens_for: Callable
    ) -> None:
        params = {"jurisdiction": J, "period": "2026", "by": "unit"}
        mine = rows(
            await service.get(
                "/v1/evaluation/continuum", params=params, headers=tokens_for("police", agency="seattle-pd")
            )
        )
        assert mine[("offered", "total")]["count"] == 27
        other = rows(
            await service.get(
                "/v1/evaluation/continuum", params=params, headers=tokens_for("police", agency="kc-sheriff")
            )
        )
        assert other[("offered", "total")]["count"] == 0
        by_race = {**params, "by": "race"}
        refused = await service.get("/v1/evaluation/continuum", params=by_race, headers=tokens_for("police"))
        assert refused.status_code == 403 and refused.json()["field"] == "by"


class TestRefusals:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"period": "2026-10-05", "by": "race"}, "period"),
            ({"period": "2026-13", "by": "race"}, "period"),
            ({"period": "2026Q5", "by": "race"}, "period"),
            ({"period": "2026-10..2026-11", "by": "race"}, "period"),
            ({"period": "2026Q4", "by": "religion"}, "by"),
            ({"by": "race"}, "period"),
        ],
    )
    async def test_unaligned_periods_and_unknown_views_are_422_naming_the_field(
        self, service: httpx.AsyncClient, tokens_for: Callable, params: dict, field: str
    ) -> None:
        reply = await service.get(
            "/v1/evaluation/continuum", params={"jurisdiction": J, **params}, headers=tokens_for("evaluator")
        )
        assert reply.status_code == 422 and reply.json()["field"] == field, reply.text

    @pytest.mark.parametrize("agency_type", ["case_management", "prosecutor", "defender", "community", "auditor"])
    async def test_other_agencies_are_refused(
        self, service: httpx.AsyncClient, tokens_for: Callable, agency_type: str
    ) -> None:
        params = {"jurisdiction": J, "period": "2026Q4", "by": "race"}
        reply = await service.get("/v1/evaluation/continuum", params=params, headers=tokens_for(agency_type))
        assert reply.status_code == 403

    async def test_another_jurisdiction_is_refused(self, service: httpx.AsyncClient, tokens_for: Callable) -> None:
        params = {"jurisdiction": "santa-fe", "period": "2026Q4", "by": "race"}
        reply = await service.get("/v1/evaluation/continuum", params=params, headers=tokens_for("evaluator"))
        assert reply.status_code == 403 and reply.json()["field"] == "jurisdiction"


class TestTheQuarterlyReport:
    async def test_it_renders_with_valid_svg_charts_and_suppressed_cells_marked(
        self, service: httpx.AsyncClient, seeded: int, tokens_for: Callable
    ) -> None:
        import xml.etree.ElementTree as ET

        params = {"jurisdiction": J, "quarter": "2026Q4"}
        reply = await service.get("/v1/evaluation/report", params=params, headers=tokens_for("evaluator"))
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
        page = reply.text
        svgs = [page[i : page.index("</svg>", i) + len("</svg>")] for i in _all(page, "<svg")]
        assert len(svgs) == 2
        for svg in svgs:
            root = ET.fromstring(svg)
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert "Relative rate index per stage" in page
        assert 'class="s">s<' in page  # the asian screenings, suppressed
        assert "00000000-0000-4000" not in page  # no participant or referral id anywhere

    @pytest.mark.parametrize("quarter", ["2026-10", "2026", "2026Q0", "Q4"])
    async def test_anything_but_a_quarter_is_422_naming_it(
        self, service: httpx.AsyncClient, tokens_for: Callable, quarter: str
    ) -> None:
        params = {"jurisdiction": J, "quarter": quarter}
        reply = await service.get("/v1/evaluation/report", params=params, headers=tokens_for("project_manager"))
        assert reply.status_code == 422 and reply.json()["field"] == "quarter"

    async def test_police_do_not_get_the_report(self, service: httpx.AsyncClient, tokens_for: Callable) -> None:
        params = {"jurisdiction": J, "quarter": "2026Q4"}
        reply = await service.get("/v1/evaluation/report", params=params, headers=tokens_for("police"))
        assert reply.status_code == 403


def _all(text: str, needle: str) -> list[int]:
    found, start = [], text.find(needle)
    while start != -1:
        found.append(start)
        start = text.find(needle, start + 1)
    return found


class TestLimitedDataSetExtracts:
    AGREEMENT = {
        "jurisdiction": J,
        "agreement_id": "DUA-2026-01",
        "recipient_agency": "lead-evaluator",
        "expires_on": "2028-01-01",
        "signed_document_sha256": "ab" * 32,
    }

    async def _extract(self, service: httpx.AsyncClient, tokens_for: Callable, agency: str = "lead-evaluator"):  # type: ignore[no-untyped-def]
        body = {"jurisdiction": J, "data_use_agreement_id": "DUA-2026-01", "year": 2026}
        return await service.post("/v1/evaluation/extracts", json=body, headers=tokens_for("evaluator", agency=agency))

    async def test_released_under_a_recorded_agreement_unlinkable_month_precision_and_announced(
        self, service: httpx.AsyncClient, seeded: int, tokens_for: Callable, module_nats: NatsServer
    ) -> None:
        manager = tokens_for("project_manager", agency="lead-project-manager")
        recorded = await service.post("/v1/evaluation/data-use-agreements", json=self.AGREEMENT, headers=manager)
        assert recorded.status_code == 201, recorded.text
        first, second = await self._extract(service, tokens_for), await self._extract(service, tokens_for)
        assert first.status_code == 201, first.text
        rows = first.json()["rows"]
        assert len(rows) == 27 and {r["referral_month"] for r in rows} == {"2026-10"}
        assert sum(r["enrolled"] for r in rows) == 15 and {r["intake_month"] for r in rows} == {"2026-10", None}
        assert "00000000-0000-4000" not in first.text  # no participant or referral id
        assert all(len(r["study_id"]) == 32 for r in rows)
        # A key per extract, thrown away: the same people get unrelated study ids each time.
        assert {r["study_id"] for r in rows}.isdisjoint(r["study_id"] for r in second.json()["rows"])
        announced = await _evaluation_events(module_nats)
        assert [
            e["data"]["data_use_agreement_id"] for e in announced if e["type"].endswith("LimitedDataSetExtracted.v1")
        ] == ["DUA-2026-01"] * 2

    async def test_no_agreement_for_the_caller_is_refused_like_no_agreement_at_all(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        other = await self._extract(service, tokens_for, agency="another-evaluator")
        unknown = await service.post(
            "/v1/evaluation/extracts",
            json={"jurisdiction": J, "data_use_agreement_id": "DUA-NONE", "year": 2026},
            headers=tokens_for("evaluator", agency="lead-evaluator"),
        )
        assert other.status_code == unknown.status_code == 422
        assert other.json()["detail"] == unknown.json()["detail"]
        assert other.json()["field"] == "data_use_agreement_id"

    @pytest.mark.parametrize(
        ("change", "field"),
        [({"expires_on": "2027-01-31"}, "expires_on"), ({"recipient_agency": "seattle-pd"}, "recipient_agency")],
    )
    async def test_an_expired_agreement_or_a_recipient_that_is_no_evaluator_is_refused(
        self, service: httpx.AsyncClient, tokens_for: Callable, change: dict, field: str
    ) -> None:
        body = {**self.AGREEMENT, "agreement_id": "DUA-BAD", **change}
        manager = tokens_for("project_manager", agency="lead-project-manager")
        reply = await service.post("/v1/evaluation/data-use-agreements", json=body, headers=manager)
        assert reply.status_code == 422 and reply.json()["field"] == field

    async def test_only_evaluators_extract(self, service: httpx.AsyncClient, tokens_for: Callable) -> None:
        body = {"jurisdiction": J, "data_use_agreement_id": "DUA-2026-01", "year": 2026}
        reply = await service.post("/v1/evaluation/extracts", json=body, headers=tokens_for("project_manager"))
        assert reply.status_code == 403


async def _evaluation_events(server: NatsServer) -> list[dict]:
    import json

    async def events() -> list[dict]:
        nc = await nats.connect(server.url)
        try:
            sub = await nc.jetstream().subscribe("lead.*.evaluation.>", ordered_consumer=True)
            found = []
            try:
                while True:
                    found.append(json.loads((await sub.next_msg(timeout=1)).data))
            except nats.errors.TimeoutError:
                return found
        finally:
            await nc.close()

    return await eventually(lambda: _at_least(events, 3))


async def _at_least(probe, n: int):  # type: ignore[no-untyped-def]
    found = await probe()
    return found if len(found) >= n else None
