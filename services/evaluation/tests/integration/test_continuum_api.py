"""The continuum and the quarterly report: counts, rates and indexes from events, suppressed, as JSON, CSV or
printable HTML; bad periods and views refused naming the field."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

J = "seattle-king-county"


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
            ({"period": "0000", "by": "race"}, "period"),
            ({"period": "1999Q4", "by": "race"}, "period"),
            ({"period": "2200-01", "by": "race"}, "period"),
            ({"period": "\uff12\uff10\uff12\uff16", "by": "race"}, "period"),  # full-width 2026
            ({"period": "2026\n", "by": "race"}, "period"),
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
