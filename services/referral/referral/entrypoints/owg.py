"""The Operations Work Group's agenda and roster, as the toolkit's samples lay them out.

Every participant row is a cross-agency read unless the viewer's own agency holds it (DESIGN §5): rows are
decided per participant in one batch, a row whose referral is withheld is absent, and each other column is
shown only where its category (referral.domain.disclosure) is permitted. Each served row is a recorded decision,
so it is in that participant's accounting of disclosures.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from divert_contracts.vocabulary import DEFAULT_PURPOSE, Jurisdiction
from divert_kernel import access
from divert_kernel.access import Owner
from divert_kernel.auth import Principal
from divert_kernel.deps import CurrentClock, Engine, Gate, OwgMember
from divert_kernel.gate import ConsentGate
from referral.adapters import owg
from referral.domain.disclosure import CASE_MANAGEMENT, COLUMNS, ITEMS, categories_of
from referral.domain.model import age_band

router = APIRouter(prefix="/v1/owg", tags=["operations work group"])
ROSTER_OMITS = ("owg_reason", "owg_decided_at")


async def _gated_rows(
    gate: ConsentGate, principal: Principal, rows: list[dict[str, Any]], today: date
) -> dict[int, dict[str, Any]]:
    """The rows the viewer may see (by id of the row), each with only the columns it may see.

    The referral and its person are the referring agency's; intake and case manager are held by the provider
    named in the hand-off (no one's before it), so that column group is decided with that owner.
    """
    purpose = DEFAULT_PURPOSE[principal.agency_type]
    served = await access.read_rows(
        gate,
        principal,
        rows,
        owner_of=lambda r: Owner(r["jurisdiction"], r["referring_agency"]),
        participant_of=_participant,
        categories=[c for c in categories_of(COLUMNS) if c != CASE_MANAGEMENT],
        purpose=purpose,
    )
    held = await access.read_rows(
        gate,
        principal,
        [row for row, _ in served],
        owner_of=lambda r: Owner(r["jurisdiction"], r["handoff_agency"]),
        participant_of=_participant,
        categories=[CASE_MANAGEMENT],
        purpose=purpose,
    )
    with_case = {id(row) for row, _ in held}
    return {
        id(row): _columns(row, set(reads) | ({CASE_MANAGEMENT} if id(row) in with_case else set()), today)
        for row, reads in served
    }


def _participant(row: dict[str, Any]) -> str:
    return str(row["participant_id"])


def _columns(row: dict[str, Any], categories: set[str], today: date) -> dict[str, Any]:
    full = {**row, "intake_completed": row["intake_completed_at"] is not None}
    if row.get("date_of_birth") is not None:
        full["age_band"] = age_band(row["date_of_birth"], today)
    return {k: v for k, v in full.items() if COLUMNS.get(k) in categories}


async def _gated_items(gate: ConsentGate, principal: Principal, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Extensions and case reviews the viewer may see: each decided on its kind's category; unknown kinds never."""
    shown: set[int] = set()
    for kind, category in ITEMS.items():
        served = await access.read_rows(
            gate,
            principal,
            [i for i in items if i["kind"] == kind],
            owner_of=lambda i: Owner(i["jurisdiction"], i["owner_agency"]),
            participant_of=_participant,
            categories=[category],
            purpose=DEFAULT_PURPOSE[principal.agency_type],
        )
        shown |= {id(i) for i, _ in served}
    return [{k: i[k] for k in ("kind", "participant_id", "detail", "at")} for i in items if id(i) in shown]


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


def _categories() -> dict[str, Any]:
    return {"columns": dict(COLUMNS), "item_categories": dict(ITEMS)}


def _category_rows() -> list[dict[str, Any]]:
    return [{"column": c, "category": k} for c, k in {**COLUMNS, **ITEMS}.items()]


@router.get("/agenda", responses={200: {"content": {"application/json": {}, "text/html": {}}}})
async def agenda(
    request: Request,
    principal: OwgMember,
    engine: Engine,
    gate: Gate,
    clock: CurrentClock,
    jurisdiction: Annotated[Jurisdiction, Query()],
    meeting_date: Annotated[date | None, Query(alias="date", description="the meeting; today if omitted")] = None,
    since: Annotated[date | None, Query(description="the last meeting; a week before if omitted")] = None,
):  # type: ignore[no-untyped-def]
    """The OWG agenda: referral review, new referrals, extensions and reviews, intake deadlines in 14 days;
    only rows and columns the viewer may read (`columns` names each column's category).
    JSON, or a printable page with `Accept: text/html`."""
    principal.check_jurisdiction(jurisdiction)
    day = meeting_date or clock.now().date()
    start = datetime.combine(since or day - timedelta(days=7), time.min, UTC)
    until = datetime.combine(day, time.min, UTC)
    async with engine.connect() as conn:
        sections = await owg.agenda(conn, jurisdiction, start, until, day, day + timedelta(days=14))
        capacity = await owg.capacity(conn, jurisdiction)
    items = await _gated_items(gate, principal, sections.pop("extensions_and_reviews"))
    visible = await _gated_rows(gate, principal, [r for rows in sections.values() for r in rows], day)
    shown = {name: [visible[id(r)] for r in rows if id(r) in visible] for name, rows in sections.items()}
    shown = {**shown, "extensions_and_reviews": items}
    body = {
        "jurisdiction": jurisdiction,
        "meeting_date": day,
        "since": start.date(),
        "capacity": capacity,
        **_categories(),
        **shown,
    }
    title = f"LEAD Operations Work Group — {jurisdiction} — {day.isoformat()}"
    return _respond(request, title, body, {**shown, "columns": _category_rows()})


@router.get("/roster", responses={200: {"content": {"application/json": {}, "text/html": {}}}})
async def roster(
    request: Request,
    principal: OwgMember,
    engine: Engine,
    gate: Gate,
    clock: CurrentClock,
    jurisdiction: Annotated[Jurisdiction, Query()],
):  # type: ignore[no-untyped-def]
    """The participant roster (the toolkit's spreadsheet): only rows and columns the viewer may read."""
    principal.check_jurisdiction(jurisdiction)
    async with engine.connect() as conn:
        rows = await owg.roster(conn, jurisdiction)
    visible = await _gated_rows(gate, principal, rows, clock.now().date())
    shown = [{k: v for k, v in visible[id(r)].items() if k not in ROSTER_OMITS} for r in rows if id(r) in visible]
    return _respond(
        request,
        f"LEAD participant roster — {jurisdiction}",
        {"jurisdiction": jurisdiction, "columns": dict(COLUMNS), "participants": shown},
        {"participants": shown, "columns": _category_rows()},
    )
