"""The Operations Work Group's agenda and roster, as the toolkit's samples lay them out.

Every participant row is a cross-agency read unless the viewer's own agency holds it (DESIGN §5). A section's
row is there only when its anchor (referral.domain.disclosure.ANCHORS) is permitted; each other column only
where its category is permitted, decided with the agency that holds that column. Withheld rows are absent and
not counted; each served row is a recorded decision, so it is in that participant's accounting of disclosures.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from divert_contracts.vocabulary import DEFAULT_PURPOSE, Jurisdiction
from divert_kernel import access
from divert_kernel.access import Owner
from divert_kernel.auth import Principal
from divert_kernel.deps import CurrentClock, Engine, Gate, OwgMember, SiteDirectory
from divert_kernel.errors import InvalidInput
from divert_kernel.gate import ConsentGate
from referral.adapters import owg
from referral.domain.disclosure import ANCHORS, COLUMNS, holder_of
from referral.domain.model import age_band
from referral.entrypoints import owg_render

router = APIRouter(prefix="/v1/owg", tags=["operations work group"])
ROSTER_OMITS = ("owg_reason", "owg_decided_at")
DEFAULT_LOOKBACK_DAYS = 14  # the toolkit's biweekly meeting
DEADLINE_HORIZON = timedelta(days=14)
Rows = list[dict[str, Any]]


def _derived(row: dict[str, Any], today: date) -> dict[str, Any]:
    full = dict(row)
    if "intake_completed_at" in row:
        full["intake_completed"] = row["intake_completed_at"] is not None
    if row.get("date_of_birth") is not None:
        full["age_band"] = age_band(row["date_of_birth"], today)
    return full


def _owner(principal: Principal, holders: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """Who holds a row's part: the viewer, where its agency is one of the joint holders; else the first."""

    def owner_of(row: dict[str, Any]) -> Owner:
        agencies = [row.get(h) for h in holders]
        mine = principal.agency in agencies
        return Owner(row["jurisdiction"], principal.agency if mine else agencies[0])

    return owner_of


async def _decide(
    gate: ConsentGate, principal: Principal, rows: Rows, holders: tuple[str, ...], category: str
) -> set[int]:
    if not rows:
        return set()
    served = await access.read_rows(
        gate,
        principal,
        rows,
        owner_of=_owner(principal, holders),
        participant_of=lambda r: str(r["participant_id"]),
        categories=[category],
        purpose=DEFAULT_PURPOSE[principal.agency_type],
    )
    return {id(row) for row, _ in served}


async def _gated(gate: ConsentGate, principal: Principal, sections: dict[str, Rows], today: date) -> dict[str, Rows]:
    """Each section's rows the viewer may see, each with only the columns it may see."""
    sections = {name: [_derived(r, today) for r in rows] for name, rows in sections.items()}
    served: list[tuple[dict[str, Any], tuple[tuple[str, ...], str]]] = []
    for name, rows in sections.items():
        holders, category = ANCHORS[name]
        kept = await _decide(gate, principal, rows, holders, category)
        served += [(r, ANCHORS[name]) for r in rows if id(r) in kept]
    permitted: dict[int, set[tuple[tuple[str, ...], str]]] = {id(r): {anchor} for r, anchor in served}
    for part in {(holder_of(c), k) for c, k in COLUMNS.items()}:
        wanted = [r for r, anchor in served if anchor != part and _has(r, part)]
        for kept_id in await _decide(gate, principal, wanted, *part):
            permitted[kept_id].add(part)
    return {
        name: [_columns(r, permitted[id(r)]) for r in rows if id(r) in permitted] for name, rows in sections.items()
    }


def _has(row: dict[str, Any], part: tuple[tuple[str, ...], str]) -> bool:
    """True when the row carries a value of that part: nothing to disclose, nothing to decide."""
    return any(row.get(c) is not None for c, k in COLUMNS.items() if (holder_of(c), k) == part)


def _columns(row: dict[str, Any], parts: set[tuple[tuple[str, ...], str]]) -> dict[str, Any]:
    """The permitted columns; the participant id always, as the anchor's decision was about that participant."""
    shown = {c: v for c, v in row.items() if c in COLUMNS and (holder_of(c), COLUMNS[c]) in parts}
    return {"participant_id": row["participant_id"], **shown}


# A meeting date a LEAD site could hold (the arithmetic around it must stay within the calendar).
MEETINGS_FROM, MEETINGS_UNTIL = date(2000, 1, 1), date(2199, 12, 31)


async def _meeting(
    engine: Any, sites: Any, clock: Any, jurisdiction: str, meeting_date: date | None, since: date | None
) -> tuple[date, date, ZoneInfo, int]:
    async with engine.connect() as conn:
        settings = await owg.settings(conn, jurisdiction) or {}
    site = sites.get(jurisdiction)
    zone = ZoneInfo(settings.get("time_zone") or (site.time_zone if site else "UTC"))
    lookback = int(settings.get("lookback_days") or DEFAULT_LOOKBACK_DAYS)
    day = meeting_date or clock.now().astimezone(zone).date()
    for name, value in (("date", day), ("since", since)):
        if value is not None and not MEETINGS_FROM <= value <= MEETINGS_UNTIL:
            raise InvalidInput(f"{name} must be a date between {MEETINGS_FROM} and {MEETINGS_UNTIL}", field=name)
    start = since or day - timedelta(days=lookback)
    if start > day:
        raise InvalidInput("the last meeting (since) must be on or before the meeting date", field="since")
    return day, start, zone, lookback


def _respond(request: Request, template: str, body: dict[str, Any], zone: ZoneInfo):  # type: ignore[no-untyped-def]
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(owg_render.render(template, body, zone))
    return JSONResponse(owg_render.jsonable(body))


@router.get("/agenda", responses={200: {"content": {"application/json": {}, "text/html": {}}}})
async def agenda(
    request: Request,
    principal: OwgMember,
    engine: Engine,
    gate: Gate,
    clock: CurrentClock,
    sites: SiteDirectory,
    jurisdiction: Annotated[Jurisdiction, Query()],
    meeting_date: Annotated[
        date | None, Query(alias="date", description="the meeting; today (site time) if omitted")
    ] = None,
    since: Annotated[
        date | None, Query(description="the last meeting; the site's OWG look-back (14 days) before if omitted")
    ] = None,
):  # type: ignore[no-untyped-def]
    """The OWG agenda: referral review, new referrals, intake status, lapsed windows, extensions, deadlines,
    cases awaiting review, follow-ups due and case plans; only rows and columns the viewer may read (`columns`
    names each column's category). JSON, or a printable agenda with `Accept: text/html`."""
    principal.check_jurisdiction(jurisdiction)
    day, start, zone, lookback = await _meeting(engine, sites, clock, jurisdiction, meeting_date, since)
    # Through the meeting day itself: the agenda printed that morning shows that morning's referrals.
    until = datetime.combine(day + timedelta(days=1), time.min, zone)
    async with engine.connect() as conn:
        sections = await owg.agenda(
            conn, jurisdiction, datetime.combine(start, time.min, zone), until, day, day + DEADLINE_HORIZON
        )
        # A program-wide count moves with participants a member may not see: for the facilitator only.
        capacity = await owg.capacity(conn, jurisdiction) if principal.agency_type == "project_manager" else None
    shown = await _gated(gate, principal, sections, day)
    body = {
        "jurisdiction": jurisdiction,
        "meeting_date": day,
        "since": start,
        "lookback_days": lookback,
        "capacity": capacity,
        "columns": dict(COLUMNS),
        "counts": {name: len(rows) for name, rows in shown.items()},
        **shown,
    }
    return _respond(request, "agenda.html", body, zone)


@router.get("/roster", responses={200: {"content": {"application/json": {}, "text/html": {}}}})
async def roster(
    request: Request,
    principal: OwgMember,
    engine: Engine,
    gate: Gate,
    clock: CurrentClock,
    sites: SiteDirectory,
    jurisdiction: Annotated[Jurisdiction, Query()],
):  # type: ignore[no-untyped-def]
    """The participant roster (the toolkit's spreadsheet): only rows and columns the viewer may read."""
    principal.check_jurisdiction(jurisdiction)
    day, _, zone, _ = await _meeting(engine, sites, clock, jurisdiction, None, None)
    async with engine.connect() as conn:
        rows = await owg.roster(conn, jurisdiction)
    shown = (await _gated(gate, principal, {"participants": rows}, day))["participants"]
    shown = [{k: v for k, v in r.items() if k not in ROSTER_OMITS} for r in shown]
    body = {
        "jurisdiction": jurisdiction,
        "as_of": day,
        "columns": dict(COLUMNS),
        "counts": {"participants": len(shown)},
        "participants": shown,
    }
    return _respond(request, "roster.html", body, zone)
