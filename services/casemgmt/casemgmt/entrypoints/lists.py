"""Participant lists and exports: everything for the case-management agency, only what the gate permits for others."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from casemgmt.adapters import listing as store
from casemgmt.entrypoints import access
from divert_contracts.vocabulary import DEFAULT_PURPOSE, Jurisdiction, Purpose
from divert_kernel import listing
from divert_kernel.auth import Principal, require
from divert_kernel.deps import Engine, Gate
from divert_kernel.gate import ConsentGate

router = APIRouter(prefix="/v1/participants", tags=["participants"])

AnyAgency = Annotated[Principal, Depends(require())]
OWNER_TYPE = access.OWNER_TYPE
# A participant summary is intake and engagement status: the `assessment` category.
CATEGORY = "assessment"
EXPORT_CHUNK = 500


class ParticipantSummary(BaseModel):
    participant_id: str
    jurisdiction: str
    status: str
    intake_status: Literal["pending", "completed"]
    intake_deadline: date | None
    intake_completed_at: datetime | None


class ParticipantPage(BaseModel):
    items: list[ParticipantSummary]
    total: int = Field(description="how many the caller may see with these filters; withheld ones are not counted")
    next_cursor: str | None


class _Query:
    def __init__(
        self,
        jurisdiction: Annotated[Jurisdiction, Query()],
        status: Annotated[Literal["active", "inactive", "exited"] | None, Query()] = None,
        intake_status: Annotated[Literal["pending", "completed"] | None, Query()] = None,
        purpose: Annotated[Purpose | None, Query(description="why the caller reads; defaults by agency type")] = None,
    ) -> None:
        self.jurisdiction, self.status, self.intake_status, self.purpose = jurisdiction, status, intake_status, purpose


ListQuery = Annotated[_Query, Depends()]


async def _filters_and_gate(
    q: _Query, principal: Principal, gate: ConsentGate
) -> tuple[store.Filters, Callable[[list[str]], Awaitable[set[str]]] | None]:
    principal.check_jurisdiction(q.jurisdiction)
    if principal.agency_type == OWNER_TYPE:
        return store.Filters(q.jurisdiction, q.status, q.intake_status, True, []), None
    purpose = q.purpose or DEFAULT_PURPOSE[principal.agency_type]
    scope = await gate.scope(principal, jurisdiction=q.jurisdiction, category=CATEGORY, purpose=purpose)
    filters = store.Filters(q.jurisdiction, q.status, q.intake_status, scope.everyone, sorted(scope.participant_ids))

    async def permitted(ids: list[str]) -> set[str]:
        decided = await gate.decide_each(
            principal, ids, jurisdiction=q.jurisdiction, category=CATEGORY, purpose=purpose
        )
        return {p for p, d in decided.items() if d.permitted}

    return filters, permitted


def _fetcher(engine: AsyncEngine, filters: store.Filters) -> listing.FetchAfter:
    async def fetch_after(after_id: str | None, n: int) -> list[dict[str, Any]]:
        async with engine.connect() as conn:
            return await store.page(conn, filters, after_id, n)

    return fetch_after


@router.get("", response_model=ParticipantPage)
async def list_participants(
    q: ListQuery,
    principal: AnyAgency,
    engine: Engine,
    gate: Gate,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> ParticipantPage:
    """Participants with intake and engagement status; other agencies see only those the gate permits."""
    after = listing.decode_cursor(cursor)
    filters, permitted = await _filters_and_gate(q, principal, gate)

    async def fetch_after(after_id: str | None, n: int) -> list[dict[str, Any]]:
        async with engine.connect() as conn:
            return await store.page(conn, filters, after_id, n)

    items, next_cursor = await listing.served_page(
        fetch_after, permitted, key="participant_id", after=after, limit=limit
    )
    async with engine.connect() as conn:
        total = await store.count(conn, filters)
    return ParticipantPage(items=[ParticipantSummary(**i) for i in items], total=total, next_cursor=next_cursor)


@router.get("/export", responses={200: {"content": {"application/x-ndjson": {}}}})
async def export_participants(q: ListQuery, principal: AnyAgency, engine: Engine, gate: Gate) -> StreamingResponse:
    """Every participant the caller may see, one JSON object per line; each row decided and recorded."""
    filters, permitted = await _filters_and_gate(q, principal, gate)
    fetch_after = _fetcher(engine, filters)
    first, cursor = await listing.served_page(
        fetch_after, permitted, key="participant_id", after=None, limit=EXPORT_CHUNK
    )

    async def lines() -> AsyncIterator[bytes]:
        chunk, next_cursor = first, cursor
        while True:
            for row in chunk:
                yield (ParticipantSummary(**row).model_dump_json() + "\n").encode()
            if next_cursor is None:
                return
            chunk, next_cursor = await listing.served_page(
                fetch_after,
                permitted,
                key="participant_id",
                after=listing.decode_cursor(next_cursor),
                limit=EXPORT_CHUNK,
            )

    return StreamingResponse(lines(), media_type="application/x-ndjson")
