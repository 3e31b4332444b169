"""The project manager's review queue for people the person index could not match with certainty.

Each person in a review (the new participant and each candidate) is a cross-agency read: a review is listed only
when every one of them may be read (`referral`), and names only where `identity` may be read (MATCH_COLUMNS).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from divert_contracts.vocabulary import DEFAULT_PURPOSE, Jurisdiction
from divert_kernel import access
from divert_kernel.access import Owner
from divert_kernel.auth import Principal
from divert_kernel.deps import Bus, CurrentClock, Engine, Gate, ProjectManager
from divert_kernel.errors import Conflict, NotFound, RuleViolated
from divert_kernel.gate import ConsentGate
from referral.domain.commands import LinkParticipants
from referral.domain.disclosure import BASE, MATCH_COLUMNS, categories_of

router = APIRouter(prefix="/v1/person-matches", tags=["person index"])

_LIST = sa.text(
    """
    SELECT review_id::text, participant_id::text, candidate_participant_ids::text[] AS candidate_participant_ids,
           reason, status, resolution, created_at
    FROM person_match_reviews WHERE jurisdiction = :jurisdiction AND status = :status ORDER BY created_at
    """
)
_PEOPLE = sa.text(
    "SELECT participant_id::text, first_name, last_name, date_of_birth FROM persons "
    "WHERE jurisdiction = :jurisdiction AND participant_id = ANY(CAST(:ids AS uuid[]))"
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


class MatchPerson(BaseModel):
    participant_id: str
    first_name: str | None = Field(None, description="present only where identity may be read")
    last_name: str | None = None
    date_of_birth: date | None = None


class MatchReview(BaseModel):
    review_id: str
    participant_id: str
    candidate_participant_ids: list[str]
    reason: str
    status: str
    resolution: str | None
    created_at: datetime
    people: list[MatchPerson] = Field(description="the participant, then each candidate")


class ResolutionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"decision": "same_person", "same_as": "7d9f2c1e-4b3a-4e8f-9c2d-1a6b5e4f3c21"}]
        },
    )

    decision: Literal["same_person", "different_people"]
    same_as: UUID | None = Field(
        None, description="same_person: which candidate (required where the review has more than one)"
    )


class ResolutionOut(BaseModel):
    review_id: str
    resolution: str
    survivor_participant_id: str | None = Field(
        None, description="same_person: the participant both ids now answer for (the one indexed first)"
    )


@router.get("", response_model=list[MatchReview], response_model_exclude_none=True)
async def list_reviews(
    principal: ProjectManager,
    engine: Engine,
    gate: Gate,
    jurisdiction: Annotated[Jurisdiction, Query()],
    status: Annotated[Literal["open", "resolved"], Query()] = "open",
) -> list[MatchReview]:
    """Possible duplicates to look at: reviews whose people may all be read, names where identity may be read."""
    principal.check_jurisdiction(jurisdiction)
    async with engine.connect() as conn:
        reviews = [
            dict(r) for r in (await conn.execute(_LIST, {"jurisdiction": jurisdiction, "status": status})).mappings()
        ]
        ids = sorted({p for r in reviews for p in [r["participant_id"], *r["candidate_participant_ids"]]})
        found = (await conn.execute(_PEOPLE, {"jurisdiction": jurisdiction, "ids": ids})).mappings()
        people = {p["participant_id"]: dict(p) for p in found}
    entries = [
        (review, {**people.get(p, {}), "participant_id": p, "jurisdiction": jurisdiction})
        for review in reviews
        for p in [review["participant_id"], *review["candidate_participant_ids"]]
    ]
    readable = await _readable(gate, principal, entries)
    listed = []
    for review in reviews:
        mine = [readable.get(id(person)) for r, person in entries if r is review]
        if all(m is not None for m in mine):
            listed.append(MatchReview(**review, people=[MatchPerson(**m) for m in mine if m is not None]))
    return listed


async def _readable(
    gate: ConsentGate, principal: Principal, entries: list[tuple[dict[str, Any], dict[str, Any]]]
) -> dict[int, dict[str, Any]]:
    """Each person the project manager may see in the queue, with only the columns it may see."""
    served = await access.read_rows(
        gate,
        principal,
        [person for _, person in entries],
        # The person index belongs to no one agency: every look at it is decided.
        owner_of=lambda p: Owner(p["jurisdiction"], None),
        participant_of=lambda p: str(p["participant_id"]),
        categories=categories_of(MATCH_COLUMNS),
        purpose=DEFAULT_PURPOSE[principal.agency_type],
    )
    return {
        id(person): {k: v for k, v in person.items() if MATCH_COLUMNS.get(k, "") in {*reads, BASE}}
        for person, reads in served
    }


@router.post("/{review_id}/resolution", response_model=ResolutionOut, response_model_exclude_none=True)
async def resolve(
    review_id: UUID, body: ResolutionIn, principal: ProjectManager, engine: Engine, clock: CurrentClock, bus: Bus
) -> ResolutionOut:
    """Record the project manager's decision. Nothing is merged automatically, ever: `same_person` links the two
    records for every service (ParticipantsLinked)."""
    if body.decision == "same_person":
        command = LinkParticipants(
            review_id=str(review_id),
            jurisdictions=tuple(sorted(principal.jurisdictions)),
            same_as=str(body.same_as) if body.same_as else None,
            resolved_by=principal.person or principal.agency,
        )
        survivor = await bus.handle(command)
        return ResolutionOut(review_id=str(review_id), resolution=body.decision, survivor_participant_id=survivor)
    if body.same_as is not None:
        raise RuleViolated("same_as names the candidate of a same_person decision only", field="same_as")
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
    return ResolutionOut(review_id=str(review_id), resolution=body.decision)
