"""Thin routes: a participant's legacy and post-diversion cases, reviews, court dates, and the queue.

A case is owned by the office that registered it (jurisdiction, agency); its court dates are that office's too.
The owner reads and writes in full; any other agency reads only through a consent-gate decision and writes
nothing (it gets what an unknown id gets).
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from divert_contracts.prosecution import CaseKind, ReviewDecision
from divert_contracts.vocabulary import DEFAULT_PURPOSE, Jurisdiction, OffenseCode, Purpose
from divert_kernel.access import Owner, in_reach, may_read, owns, read_one
from divert_kernel.auth import Principal
from divert_kernel.deps import Bus, CourtDateReader, CurrentClock, Engine, Gate, Prosecutor, SiteDirectory
from divert_kernel.errors import InvalidInput
from divert_kernel.problems import PROBLEM_JSON, problem
from prosecution.adapters import cases, held_charges, standing
from prosecution.domain import commands
from prosecution.domain.errors import CaseNotFound, ParticipantNotYetKnown
from prosecution.domain.standing import FOLLOW_UP_DAYS, local_date

router = APIRouter(tags=["cases"])

Text = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChargeIn(_Strict):
    code: OffenseCode
    description: Text


class CaseIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "participant_id": "7d9f2c1e-4b3a-4e8f-9c2d-1a6b5e4f3c21",
                    "jurisdiction": "seattle-king-county",
                    "kind": "legacy",
                    "docket_number": "24-1-01234-5 SEA",
                    "court": "King County District Court",
                    "charges": [{"code": "35A", "description": "Drug/narcotic violation"}],
                    "filed_at": "2026-10-02",
                }
            ]
        },
    )
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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "decision": "continue_to_monitor",
                    "rationale": "Engaged with case management; look again after the next review.",
                    "follow_up_on": "2026-12-21",
                }
            ]
        },
    )
    decision: ReviewDecision
    rationale: Annotated[str, Field(min_length=1, max_length=4000)]
    follow_up_on: date | None = Field(
        None,
        description=f"continue_to_monitor only: when the case comes back for follow-up (default {FOLLOW_UP_DAYS} "
        "days after the review, the site's local date)",
    )

    @field_validator("follow_up_on")
    @classmethod
    def _only_when_monitoring(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is not None and info.data.get("decision", "continue_to_monitor") != "continue_to_monitor":
            raise ValueError("a follow-up date goes only with the decision continue_to_monitor")
        return value


class CourtDateIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"scheduled_for": "2026-12-08T09:00:00-08:00", "hearing": "arraignment"}]},
    )
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
        "lapsed_awaiting_decision",
        "deadline_within_7_days",
        "court_date_within_14_days",
        "case_awaiting_review",
        "follow_up_due",
    ] = Field(description="follow_up_due: a continue_to_monitor review whose follow-up date is within 7 days or past")
    id: str = Field(description="the referral id (held charges) or the case id")
    participant_id: str
    due: datetime


class QueuePage(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None


PurposeQuery = Annotated[Purpose | None, Query(description="why the caller reads; defaults by agency type")]


def _owner(row: dict[str, Any]) -> Owner:
    return Owner(row["jurisdiction"], row["agency"])


async def _get_case(engine: Engine, case_id: UUID) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        return await cases.get_case(conn, str(case_id))


async def _owned_case(engine: Engine, case_id: UUID, principal: Principal) -> CaseOut:
    """The case for a write by its owner; anyone else gets what an unknown id gets."""
    row = await _get_case(engine, case_id)
    if row is None or not owns(principal, _owner(row)):
        raise CaseNotFound()
    return CaseOut(**row)


NOT_YET_KNOWN: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "Conflict with current state; for a participant this office has not yet heard of (the "
        "referral's events may still be on their way), retry after `Retry-After` seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


def install(app: FastAPI) -> None:
    """Answer a participant not yet known here with 409 and Retry-After (eventual consistency, not an error)."""

    async def _not_yet_known(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ParticipantNotYetKnown)
        reply = problem(409, exc.title, exc.detail, field=exc.field)
        reply.headers["Retry-After"] = str(exc.retry_after_seconds)
        return reply

    app.add_exception_handler(ParticipantNotYetKnown, _not_yet_known)


@router.post("/v1/cases", status_code=201, response_model=CaseCreated, responses=NOT_YET_KNOWN)
async def register_case(body: CaseIn, principal: Prosecutor, bus: Bus, response: Response) -> CaseCreated:
    """Register a participant's pending case or post-diversion arrest (LegacyCaseRegistered). A participant this
    office has not yet heard of gets 409 with Retry-After, whether or not they exist anywhere else."""
    principal.check_jurisdiction(body.jurisdiction)
    command = commands.RegisterCase(
        participant_id=str(body.participant_id),
        jurisdiction=body.jurisdiction,
        agency=principal.agency,
        kind=body.kind,
        docket_number=body.docket_number,
        court=body.court,
        charges=tuple(commands.Charge(c.code, c.description) for c in body.charges),
        filed_at=body.filed_at,
    )
    case_id = await bus.handle(command)
    response.headers["Location"] = f"/v1/cases/{case_id}"
    return CaseCreated(case_id=case_id)


@router.get("/v1/cases/{case_id}", response_model=CaseOut)
async def get_case(
    case_id: UUID, principal: Prosecutor, engine: Engine, gate: Gate, purpose: PurposeQuery = None
) -> CaseOut:
    """The case with its review history (newest first) and court dates: in full for the office that holds it,
    for any other office only through the consent gate (`legal_case`)."""
    row = await _get_case(engine, case_id)
    owner = _owner(row) if row else None
    # An unknown or out-of-reach case is asked about under its own id, never under a participant it names.
    participant_id = row["participant_id"] if row and in_reach(principal, owner) else str(case_id)
    purpose = purpose or DEFAULT_PURPOSE[principal.agency_type]
    await read_one(gate, principal, owner, participant_id=participant_id, category="legal_case", purpose=purpose)
    assert row is not None  # read_one refuses an unknown case
    return CaseOut(**row)


@router.post("/v1/cases/{case_id}/reviews", status_code=201, response_model=CaseOut)
async def review_case(
    case_id: UUID, body: ReviewIn, principal: Prosecutor, bus: Bus, engine: Engine, response: Response
) -> CaseOut:
    """Record one of the toolkit's five review options with a rationale (LegacyCaseReviewed); by the owner only.
    `continue_to_monitor` takes a follow-up date (default 30 days on), shown in the queue when due."""
    await _owned_case(engine, case_id, principal)
    reviewer = principal.person or principal.agency
    await bus.handle(commands.ReviewCase(str(case_id), body.decision, body.rationale, reviewer, body.follow_up_on))
    response.headers["Location"] = f"/v1/cases/{case_id}"  # a review is read in its case's history
    return await _owned_case(engine, case_id, principal)


@router.post("/v1/cases/{case_id}/court-dates", status_code=201, response_model=CaseOut)
async def schedule_court_date(
    case_id: UUID, body: CourtDateIn, principal: Prosecutor, bus: Bus, engine: Engine, response: Response
) -> CaseOut:
    """Schedule a hearing (CourtDateScheduled) in the office's own case; others read it through the gate."""
    await _owned_case(engine, case_id, principal)
    await bus.handle(commands.ScheduleCourtDate(str(case_id), body.scheduled_for, body.hearing))
    response.headers["Location"] = f"/v1/cases/{case_id}"  # a court date is read in its case
    return await _owned_case(engine, case_id, principal)


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
    """Upcoming court dates: an office's own in full; any other office's only through the consent gate. A merged
    record answers for its survivor (the one person)."""
    async with engine.connect() as conn:
        jurisdiction = await held_charges.participant_jurisdiction(conn, str(participant_id))
        person, ids = str(participant_id), [str(participant_id)]
        if jurisdiction is not None:
            person, ids = await standing.person(conn, jurisdiction, person)
        dates = await cases.upcoming_court_dates(conn, ids, clock.now())
        offices = await cases.case_owners(conn, ids)
    mine = [d for d in dates if owns(principal, _owner(d))]
    others = [d for d in dates if not owns(principal, _owner(d)) and d["jurisdiction"] == jurisdiction]
    ask = {
        "participant_id": person,
        "category": "court_dates",
        "purpose": purpose or DEFAULT_PURPOSE[principal.agency_type],
    }
    participant = Owner(jurisdiction, None) if jurisdiction else None
    if not any(owns(principal, Owner(*office)) for office in offices):
        # Not an owner: one decision for the whole list, asked even for an unknown participant.
        await read_one(gate, principal, participant, **ask)
        return _court_dates_out(others)
    if others and participant and await may_read(gate, principal, participant, **ask):
        mine += others
    return _court_dates_out(mine)


def _court_dates_out(rows: list[dict[str, Any]]) -> list[CourtDateOut]:
    return [CourtDateOut(**d) for d in sorted(rows, key=lambda d: d["scheduled_for"])]


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
    sites: SiteDirectory,
    jurisdiction: Annotated[Jurisdiction, Query()],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> QueuePage:
    """The office's own queue, most pressing first: lapsed windows awaiting a decision, windows closing
    within 7 days, court dates within 14 days, cases awaiting review, follow-ups due within 7 days (local dates).
    Another office's records are never listed."""
    principal.check_jurisdiction(jurisdiction)
    offset = _offset(cursor)
    site = sites.get(jurisdiction)
    site_office = site.prosecutor_office if site else None
    now = clock.now()
    async with engine.connect() as conn:
        today = local_date(now, await standing.site_zone(conn, jurisdiction, sites))
        rows = await cases.queue(conn, (jurisdiction, principal.agency), site_office, now, today, offset, limit + 1)
    more = len(rows) > limit
    next_cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
    return QueuePage(items=[QueueItem(**r) for r in rows[:limit]], next_cursor=next_cursor)
