"""Participant lists and exports: the caller's own participants in full, others' only as the gate decides per row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from casemgmt.entrypoints import access
from divert_contracts.vocabulary import Jurisdiction, Purpose
from divert_kernel import listing
from divert_kernel.auth import Principal
from divert_kernel.deps import AnyAgency, Engine, Gate
from divert_kernel.gate import ConsentGate

router = APIRouter(prefix="/v1/participants", tags=["participants"])

# A participant summary is intake and engagement status: the `assessment` category.
CATEGORY = "assessment"


class ParticipantSummary(BaseModel):
    participant_id: str
    jurisdiction: str
    enrolment: Literal["referred", "enrolled", "not_enrolled"]
    not_enrolled_reason: Literal["declined", "owg_denied", "intake_lapsed", "withdrew"] | None
    status: Literal["active", "inactive", "exited"] | None = Field(description="null until enrolled")
    intake_status: Literal["pending", "completed"]
    intake_deadline: date | None
    intake_target: date | None
    intake_completed_at: datetime | None


class ParticipantPage(BaseModel):
    items: list[ParticipantSummary]
    total: int = Field(description="how many the caller may see with these filters; withheld ones are not counted")
    next_cursor: str | None


class _Query:
    def __init__(
        self,
        jurisdiction: Annotated[Jurisdiction, Query()],
        enrolment: Annotated[Literal["referred", "enrolled", "not_enrolled"] | None, Query()] = None,
        status: Annotated[
            Literal["active", "inactive", "exited"] | None, Query(description="enrolled participants' status")
        ] = None,
        intake_status: Annotated[Literal["pending", "completed"] | None, Query()] = None,
        purpose: Annotated[Purpose | None, Query(description="why the caller reads; defaults by agency type")] = None,
    ) -> None:
        self.jurisdiction, self.enrolment, self.status = jurisdiction, enrolment, status
        self.intake_status, self.purpose = intake_status, purpose


ListQuery = Annotated[_Query, Depends()]


async def _served(q: _Query, principal: Principal, engine: AsyncEngine, gate: ConsentGate) -> list[dict[str, Any]]:
    return await access.served_rows(
        engine,
        gate,
        principal,
        jurisdiction=q.jurisdiction,
        category=CATEGORY,
        purpose=q.purpose,
        enrolment=q.enrolment,
        status=q.status,
        intake_status=q.intake_status,
    )


@router.get("", response_model=ParticipantPage)
async def list_participants(
    q: ListQuery,
    principal: AnyAgency,
    engine: Engine,
    gate: Gate,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> ParticipantPage:
    """Participants with enrolment, intake and engagement status; other agencies' participants only where the gate permits."""
    after = listing.decode_cursor(cursor)
    served = await _served(q, principal, engine, gate)
    # Canonical UUID text sorts like the UUIDs themselves, so the cursor follows the query's order.
    rest = [r for r in served if after is None or r["participant_id"] > after]
    page = rest[:limit]
    next_cursor = listing.encode_cursor(page[-1]["participant_id"]) if len(rest) > limit else None
    return ParticipantPage(items=[ParticipantSummary(**r) for r in page], total=len(served), next_cursor=next_cursor)


@router.get("/export", responses={200: {"content": {"application/x-ndjson": {}}}})
async def export_participants(q: ListQuery, principal: AnyAgency, engine: Engine, gate: Gate) -> StreamingResponse:
    """Every participant the caller may see, one JSON object per line; each other agency's row decided and recorded."""
    served = await _served(q, principal, engine, gate)

    async def lines() -> AsyncIterator[bytes]:
        for row in served:
            yield (ParticipantSummary(**row).model_dump_json() + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")
