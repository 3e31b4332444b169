"""The quarterly report for the Policy Coordinating Group: printable HTML with SVG charts, aggregates only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from divert_contracts.vocabulary import Jurisdiction
from divert_kernel.deps import CurrentClock, Engine, EvaluationReader, SiteDirectory
from evaluation.adapters import charts
from evaluation.domain import periods
from evaluation.domain.errors import UnalignedPeriod, ViewNotYours
from evaluation.domain.rows import Row
from evaluation.service_layer.views import continuum_rows

router = APIRouter(tags=["evaluation"])
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates"), autoescape=select_autoescape(["html"])
)
CHART_STAGES = ["screened", "offered", "accepted", "handed_off", "enrolled", "active_3m", "active_6m", "active_12m"]


@router.get("/v1/evaluation/report", response_class=HTMLResponse)
async def quarterly_report(
    request: Request,
    principal: EvaluationReader,
    engine: Engine,
    clock: CurrentClock,
    sites: SiteDirectory,
    jurisdiction: Annotated[Jurisdiction, Query()],
    quarter: Annotated[str, Query(max_length=16, examples=["2026Q4"])],
) -> HTMLResponse:
    """The quarter's continuum by race and the relative rate index per stage, for the PCG (printable HTML)."""
    principal.check_jurisdiction(jurisdiction)
    try:
        period = periods.parse(quarter)
    except UnalignedPeriod:
        period = None
    if period is None or period.kind != "quarter":
        raise UnalignedPeriod("quarter is a whole quarter, e.g. 2026Q4", field="quarter")
    if principal.agency_type == "police":
        raise ViewNotYours("the report is for the evaluator and the project manager", field="jurisdiction")
    site = sites.get(jurisdiction)
    reference = request.app.state.settings.reference_for(jurisdiction)
    rows = await continuum_rows(
        engine,
        jurisdiction,
        period,
        "race",
        now=clock.now(),
        time_zone=site.time_zone if site else "UTC",
        reference=reference,
    )
    return HTMLResponse(render(jurisdiction, period.label, rows, reference.get("race", "none")))


def render(jurisdiction: str, quarter: str, rows: list[Row], reference: str) -> str:
    by = {(r.stage, r.group): r for r in rows}
    groups = list(dict.fromkeys(r.group for r in rows))
    stages = list(dict.fromkeys(r.stage for r in rows))
    counts = {g: [by[(s, g)].count for s in CHART_STAGES] for g in groups if g != "total"}
    indexes = {g: [by[(s, g)].relative_rate_index for s in CHART_STAGES] for g in groups if g != "total"}
    drawn = [
        charts.grouped_bars(f"The continuum by race, {quarter}", CHART_STAGES, _shown(counts), "people"),
        charts.grouped_bars(
            f"Relative rate index per stage (reference: {reference})", CHART_STAGES, _shown(indexes), "index"
        ),
    ]
    table = [(s, [_cell(by[(s, g)]) for g in groups]) for s in stages]
    return TEMPLATES.get_template("report.html").render(
        jurisdiction=jurisdiction,
        quarter=quarter,
        reference=reference,
        # Trusted markup: drawn by matplotlib from our own stage and group codes and numbers, never caller text.
        charts=[Markup(svg) for svg in drawn],
        groups=groups,
        table=table,
    )


def _shown(series: dict[str, list]) -> dict[str, list]:  # type: ignore[type-arg]
    """Groups with something published to draw."""
    return {g: values for g, values in series.items() if any(v for v in values)}


def _cell(row: Row) -> dict[str, object]:
    if row.suppressed:
        return {"suppressed": True, "text": "s"}
    value = row.value if row.value is not None else row.count
    return {"suppressed": False, "text": "" if value is None else value}
