"""Where one person stands: referred, enrolled or not enrolled (and why), and, once enrolled, their status."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from casemgmt.entrypoints import access
from casemgmt.entrypoints.care_schemas import Obligations, PurposeQuery
from divert_kernel.deps import AnyAgency, Engine, Gate

router = APIRouter(prefix="/v1/participants", tags=["participants"])
# Whether and how a person is in the program is part of their referral record.
CATEGORY = "referral"


class ParticipantOut(BaseModel):
    participant_id: str = Field(description="the surviving participant's id when asked by a merged record's id")
    jurisdiction: str
    enrolment: Literal["referred", "enrolled", "not_enrolled"]
    not_enrolled_reason: Literal["declined", "owg_denied", "intake_lapsed", "withdrew"] | None
    status: Literal["active", "inactive", "exited"] | None = Field(description="null until enrolled")
    intake_deadline: date | None = Field(description="arrest diversions not yet enrolled: the earliest open deadline")
    intake_target: date | None = Field(description="social contacts: the site's intake target (no consequence)")
    case_manager_id: str | None
    obligations: Obligations = []


@router.get("/{participant_id}", response_model=ParticipantOut)
async def get_participant(
    participant_id: UUID, principal: AnyAgency, engine: Engine, gate: Gate, purpose: PurposeQuery = None
) -> ParticipantOut:
    """The participant's enrolment and status: the holding provider in full, others with a permit for `referral`."""
    got, row = await access.read(engine, gate, participant_id, principal, CATEGORY, purpose)
    fields = {k: row[k] for k in ParticipantOut.model_fields if k in row}
    return ParticipantOut(**fields, obligations=access.obligations([(CATEGORY, got)]))
