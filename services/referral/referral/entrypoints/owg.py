"""The Operations Work Group's agenda and roster, as the toolkit's samples lay them out.

Names and dates of birth appear only for members whose agency may read identity: the referring police agency,
or an agency the consent gate permits (a consent or the site's MOU). For everyone else they are left out.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from divert_contracts.vocabulary import DEFAULT_PURPOSE, Jurisdiction
from divert_kernel.auth import Principal, require
from divert_kernel.deps import CurrentClock, Engine, Gate
from divert_kernel.gate import ConsentGate
from referral.adapters import owg
from referral.domain.model import age_band

router = APIRouter(prefix="/v1/owg", tags=["operations work group"])

Member = Annotated[Principal, Depends(require("project_manager", "police", "prosecutor", "case_management"))]
IDENTITY = ("first_name", "last_name", "date_of_birth")


async def _identity_visible(
    principal: Principal, gate: ConsentGate, rows: list[dict[str, Any]], jurisdiction: str
) -> set[str]:
    owned = {r["participant_id"] for r in rows if r.get("referring_agency") == principal.agency}
    others = sorted({r["participant_id"] for r in rows if "first_name" in r} - owned)
    if not others:
        return owned
    decided = await gate.decide_each(
        principal,
        others,
        jurisdiction=jurisdiction,
        category="identity",
        purpose=DEFAULT_PURPOSE[principal.agency_type],
    )
    return owned | {p for p, d in decided.items() if d.permitted}


def _shown(row: dict[str, Any], visible: set[str], today: date) -> dict[str, Any]:
    shown = {k: v for k, v in row.items() if k not in IDENTITY or row["participant_id"] in visible}
    if row.get("date_of_birth") is not None:
        shown["age_band"] = age_band(row["date_of_birth"], today)
    return shown


def _html(title: str, sections: dict[str, list[dict[str, Any]]]) -> str:
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #999;padding:.25em .5em;font-size:90%}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for name, rows in sections.items():
        parts.append(f"<h2>{html.escape(name.replace('_', ' ').capitalize())}</h2>")
        if not rows:
            parts.append("<p>None.</p>")
            continue
        columns = list(dict.fromkeys(k for r in rows for k in r))
        parts.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>")
        for r in rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>")
        parts.append("</table>")
    return "".join(parts) + "</body></html>"


def _respond(request: Request, title: str, body: dict[str, Any], sections: dict[str, list[dict[str, Any]]]):  # type: ignore[no-untyped-def]
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(_html(title, sections))
    return JSONResponse(_jsonable(body))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


@router.get("/agenda", responses={200: {"content": {"application/json": {}, "text/html": {}}}})
async def agenda(
    request: Request,
    principal: Member,
    engine: Engine,
    gate: Gate,
    clock: CurrentClock,
    jurisdiction: Annotated[Jurisdiction, Query()],
    meeting_date: Annotated[date | None, Query(alias="date", description="the meeting; today if omitted")] = None,
    since: Annotated[date | None, Query(description="the last meeting; a week before if omitted")] = None,
):  # type: ignore[no-untyped-def]
    """The OWG agenda: referral review, new referrals, extensions and reviews, intake deadlines in 14 days.
    JSON, or a printable page with `Accept: text/html`."""
    principal.check_jurisdiction(jurisdiction)
    day = meeting_date or clock.now().date()
    start = datetime.combine(since or day - timedelta(days=7), time.min, UTC)
    until = datetime.combine(day, time.min, UTC)
    async with engine.connect() as conn:
        sections = await owg.agenda(conn, jurisdiction, start, until, day, day + timedelta(days=14))
        capacity = await owg.capacity(conn, jurisdiction)
    visible = await _identity_visible(principal, gate, [r for rows in sections.values() for r in rows], jurisdiction)
    shown = {name: [_shown(r, visible, day) for r in rows] for name, rows in sections.items()}
    body = {"jurisdiction": jurisdiction, "meeting_date": day, "since": start.date(), "capacity": capacity, **shown}
    return _respond(request, f"LEAD Operations Work Group — {jurisdiction} — {day.isoformat()}", body, shown)


@router.get("/roster", responses={200: {"content": {"application/json": {}, "text/html": {}}}})
async def roster(
    request: Request,
    principal: Member,
    engine: Engine,
    gate: Gate,
    clock: CurrentClock,
    jurisdiction: Annotated[Jurisdiction, Query()],
):  # type: ignore[no-untyped-def]
    """The participant roster (the toolkit's spreadsheet), names only where identity may be read."""
    principal.check_jurisdiction(jurisdiction)
    async with engine.connect() as conn:
        rows = await owg.roster(conn, jurisdiction)
    visible = await _identity_visible(principal, gate, rows, jurisdiction)
    today = clock.now().date()
    shown = [
        {k: v for k, v in _shown(r, visible, today).items() if k not in ("owg_reason", "owg_decided_at")}
        | {"intake_completed": r["intake_completed_at"] is not None}
        for r in rows
    ]
    return _respond(
        request,
        f"LEAD participant roster — {jurisdiction}",
        {"jurisdiction": jurisdiction, "participants": shown},
        {"participants": shown},
    )
