"""The project manager's review queue for people the person index could not match with certainty."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from divert_contracts.vocabulary import Jurisdiction
from divert_kernel.auth import Principal, require
from divert_kernel.deps import CurrentClock, Engine
from divert_kernel.errors import Conflict, NotFound

router = APIRouter(prefix="/v1/person-matches", tags=["person index"])

ProjectManager = Annotated[Principal, Depends(require("project_manager"))]

_LIST = sa.text(
    """
    SELECT review_id::text, participant_id::text, candidate_participant_ids::text[] AS candidate_participant_ids,
           reason, status, resolution, created_at
    FROM person_match_reviews WHERE jurisdiction = :jurisdiction AND status = :status ORDER BY created_at
    """
)
_RESOLVE = sa.text(
    "UPDATE person_match_reviews SET status = 'resolved', resolution = :resolution, resolved_by = :by, "
    "resolved_at = :at WHERE review_id = CAST(:review_id AS uuid) AND jurisdiction = ANY(CAST(:jurisdictions AS text[])) "
    "AND status = 'open' RETURNING review_id"
)
_EXISTS = sa.text(
    "SELECT status FROM person_match_reviews WHERE review_id = CAST(:review_id AS uuid) "
    "AND jurisdiction = ANY(CAST(:jurisdictions AS text[]))"
)


class MatchReview(BaseModel):
    review_id: str
    participant_id: str
    candidate_participant_ids: list[str]
    reason: str
    status: str
    resolution: str | None
    created_at: datetime


class ResolutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["same_person", "different_people"]


@router.get("", response_model=list[MatchReview])
async def list_reviews(
    principal: ProjectManager,
    engine: Engine,
    jurisdiction: Annotated[Jurisdiction, Query()],
    status: Annotated[Literal["open", "resolved"], Query()] = "open",
) -> list[MatchReview]:
    """Possible duplicates to look at (ids only; names are read through each referral, with the gate)."""
    principal.check_jurisdiction(jurisdiction)
    async with engine.connect() as conn:
        rows = (await conn.execute(_LIST, {"jurisdiction": jurisdiction, "status": status})).mappings()
        return [MatchReview(**r) for r in rows]


@router.post("/{review_id}/resolution", response_model=dict[str, str])
async def resolve(
    review_id: UUID, body: ResolutionIn, principal: ProjectManager, engine: Engine, clock: CurrentClock
) -> dict[str, str]:
    """Record the project manager's decision. Nothing is merged automatically, ever."""
    params = {"review_id": str(review_id), "jurisdictions": sorted(principal.jurisdictions)}
    async with engine.begin() as conn:
        done = (
            await conn.execute(
                _RESOLVE,
                {**params, "resolution": body.decision, "by": principal.person or principal.agency, "at": clock.now()},
            )
        ).first()
        if done is None:
            status = (await conn.execute(_EXISTS, params)).scalar()
            if status is None:
                raise NotFound("no such review", field="review_id")
            raise Conflict("this review was already resolved", field="review_id")
    return {"review_id": str(review_id), "resolution": body.decision}
