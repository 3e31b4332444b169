"""Thin routes: a participant's legacy and post-diversion cases, reviews, court dates, and the queue."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from divert_contracts.prosecution import CaseKind, ReviewDecision
from divert_contracts.vocabulary import DEFAULT_PURPOSE, Jurisdiction, OffenseCode, Purpose
from divert_kernel.auth import Principal, require
from divert_kernel.deps import Bus, CurrentClock, Engine, Gate
from divert_kernel.errors import InvalidInput
from prosecution.adapters import cases, held_charges
from prosecution.domain import commands
from prosecution.domain.errors import CaseNotFound

router = APIRouter(tags=["cases"])

Prosecutor = Annotated[Principal, Depends(require("prosecutor"))]
CourtDateReader = Annotated[Principal, Depends(require("prosecutor", "case_management", "defender"))]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChargeIn(_Strict):
    code: OffenseCode
    description: Text


class CaseIn(_Strict):
    participant_id: UUID
    jurisdiction: Jurisdiction
    kind: CaseKind
    docket_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./-]{0,39}$")]
    court: Text
    charges: list[ChargeIn] = Field(min_length=1, max_length=30)
    filed_at: date


class CaseCreated(BaseModel):
    case_id: str


class ReviewIn(_Strict):
    decision: ReviewDecision
    rationale: Annotated[str, Field(min_length=1, max_length=4000)]


class CourtDateIn(_Strict):
    scheduled_for: AwareDatetime
    hearing: Annotated[str, Field(pattern=r"^[a-z_]{1,40}$", description="e.g. arraignment, review, trial")]


class CourtDateOut(BaseModel):
    court_date_id: str
    case_id: str
    docket_number: str
    court: str
    scheduled_for: datetime
    hearing: str


class CaseOut(BaseModel):
    case_id: str
    participant_id: str
    jurisdiction: str
    kind: str
    docket_number: str
    court: str
    charges: list[dict[str, str]]
    filed_at: date
    status: str
    registered_at: datetime
    reviews: list[dict[str, Any]] = Field(description="newest first; the history is kept")
    court_dates: list[dict[str, Any]]


class QueueItem(BaseModel):
    kind: Literal[
        "lapsed_awaiting_decision", "deadline_within_7_days", "court_date_within_14_days", "case_awaiting_review"
    ]
    id: str = Field(description="the referral id (held charges) or the case id")
    participant_id: str
    due: datetime


class QueuePage(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None


async def _case(engine: Engine, case_id: UUID, principal: Principal) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = await cases.get_case(conn, str(case_id))
    if row is None or row["jurisdiction"] not in principal.jurisdictions:
        raise CaseNotFound()
    return row


@router.post("/v1/cases", status_code=201, response_model=CaseCreated)
async def register_case(body: CaseIn, principal: Prosecutor, bus: Bus) -> CaseCreated:
    """Register a participant's pending case or post-diversion arrest (LegacyCaseRegistered)."""
    principal.check_jurisdiction(body.jurisdiction)
    command = commands.RegisterCase(
        participant_id=str(body.participant_id),
        jurisdiction=body.jurisdiction,
        kind=body.kind,
        docket_number=body.docket_number,
        court=body.court,
        charges=tuple(commands.Charge(c.code, c.description) for c in body.charges),
        filed_at=body.filed_at,
    )
    return CaseCreated(case_id=await bus.handle(command))


@router.get("/v1/cases/{case_id}", response_model=CaseOut)
async def get_case(case_id: UUID, principal: Prosecutor, engine: Engine) -> CaseOut:
    """The case with its review history (newest first) and court dates."""
    return CaseOut(**await _case(engine, case_id, principal))


@router.post("/v1/cases/{case_id}/reviews", status_code=201, response_model=CaseOut)
async def review_case(case_id: UUID, body: ReviewIn, principal: Prosecutor, bus: Bus, engine: Engine) -> CaseOut:
    """Record one of the toolkit's five review options with a rationale (LegacyCaseReviewed)."""
    await _case(engine, case_id, principal)
    await bus.handle(
        commands.ReviewCase(str(case_id), body.decision, body.rationale, principal.person or principal.agency)
    )
    return CaseOut(**await _case(engine, case_id, principal))


@router.post("/v1/cases/{case_id}/court-dates", status_code=201, response_model=CaseOut)
async def schedule_court_date(
    case_id: UUID, body: CourtDateIn, principal: Prosecutor, bus: Bus, engine: Engine
) -> CaseOut:
    """Schedule a hearing (CourtDateScheduled); case managers and defenders read it through the gate."""
    await _case(engine, case_id, principal)
    await bus.handle(commands.ScheduleCourtDate(str(case_id), body.scheduled_for, body.hearing))
    return CaseOut(**await _case(engine, case_id, principal))


@router.get("/v1/participants/{participant_id}/court-dates", response_model=list[CourtDateOut])
async def upcoming_court_dates(
    participant_id: UUID,
    principal: CourtDateReader,
    engine: Engine,
    gate: Gate,
    clock: CurrentClock,
    purpose: Annotated[
        Purpose | None, Query(description="care_coordination or defense; defaults by agency type")
    ] = None,
) -> list[CourtDateOut]:
    """Upcoming court dates: the prosecutor's own; case managers and defenders through the consent gate."""
    async with engine.connect() as conn:
        jurisdiction = await held_charges.participant_jurisdiction(conn, str(participant_id))
        dates = await cases.upcoming_court_dates(conn, str(participant_id), clock.now())
    if jurisdiction not in principal.jurisdictions:
        jurisdiction = None
    if principal.agency_type != "prosecutor":
        await gate.require_read(
            principal,
            participant_id=str(participant_id),
            jurisdiction=jurisdiction,
            category="court_dates",
            purpose=purpose or DEFAULT_PURPOSE[principal.agency_type],
        )
    elif jurisdiction is None:
        raise CaseNotFound()
    return [CourtDateOut(**d) for d in dates]


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, binascii.Error):
        raise InvalidInput("the cursor is not one this API issued", field="cursor") from None


@router.get("/v1/prosecution/queue", response_model=QueuePage)
async def prosecutor_queue(
    principal: Prosecutor,
    engine: Engine,
    clock: CurrentClock,
    jurisdiction: Annotated[Jurisdiction, Query()],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> QueuePage:
    """The LEAD prosecutor's queue, most pressing first: lapsed windows awaiting a decision, windows closing
    within 7 days, court dates within 14 days, cases awaiting review."""
    principal.check_jurisdiction(jurisdiction)
    offset = _offset(cursor)
    async with engine.connect() as conn:
        rows = await cases.queue(conn, jurisdiction, clock.now(), offset, limit + 1)
    more = len(rows) > limit
    next_cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
    return QueuePage(items=[QueueItem(**r) for r in rows[:limit]], next_cursor=next_cursor)
