"""The continuum for evaluators, the project manager and (per unit, their own) police: aggregates only."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from divert_contracts.vocabulary import Jurisdiction
from divert_kernel.deps import CurrentClock, Engine, EvaluationReader, SiteDirectory
from evaluation.domain import periods
from evaluation.domain.errors import ViewNotYours
from evaluation.domain.rows import BY, check_view
from evaluation.service_layer.views import continuum_rows

router = APIRouter(tags=["evaluation"])
CSV_FIELDS = ("stage", "group", "count", "rate", "relative_rate_index", "suppressed", "value")


class RowOut(BaseModel):
    stage: str = Field(examples=["offered"])
    group: str = Field(examples=["black"])
    count: int | None = Field(description="null when suppressed")
    rate: float | None = Field(description="count / the previous stage's count for the same group")
    relative_rate_index: float | None = Field(description="this group's rate / the reference group's rate (OJJDP)")
    suppressed: bool
    value: float | None = Field(None, description="median days from referral to intake, on that stage's rows only")


class ContinuumOut(BaseModel):
    jurisdiction: str
    period: str
    by: str
    rows: list[RowOut]


@router.get("/v1/evaluation/continuum", response_model=ContinuumOut, responses={200: {"content": {"text/csv": {}}}})
async def get_continuum(
    request: Request,
    principal: EvaluationReader,
    engine: Engine,
    clock: CurrentClock,
    sites: SiteDirectory,
    jurisdiction: Annotated[Jurisdiction, Query()],
    period: Annotated[str, Query(max_length=16, description="a whole month, quarter or year", examples=["2026Q4"])],
    by: Annotated[str, Query(max_length=32, description=f"one of: {', '.join(BY)}")],
) -> ContinuumOut | Response:
    """The LEAD continuum by stage and group for one aligned period, small cells suppressed (JSON or CSV)."""
    principal.check_jurisdiction(jurisdiction)
    aligned, view = periods.parse(period), check_view(by)
    police = principal.agency_type == "police"
    if police != (view == "unit"):
        raise ViewNotYours("police see their own units (by=unit); the unit view is police-only", field="by")
    site = sites.get(jurisdiction)
    found = await continuum_rows(
        engine,
        jurisdiction,
        aligned,
        view,
        now=clock.now(),
        time_zone=site.time_zone if site else "UTC",
        reference=request.app.state.settings.reference_for(jurisdiction),
        agency=principal.agency if police else None,
    )
    out = [RowOut(**asdict(r)) for r in found]
    if "text/csv" in request.headers.get("accept", ""):
        return Response(_csv(out), media_type="text/csv")
    return ContinuumOut(jurisdiction=jurisdiction, period=aligned.label, by=view, rows=out)


def _csv(rows: list[RowOut]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.model_dump().items()})
    return buffer.getvalue()
