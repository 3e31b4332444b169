"""Views staff need every day (issue 10): an officer's field lookup, discretion records, a case manager's caseload.

Each is a read path under DESIGN §5's one rule (divert_kernel.access): the owner reads in full, anyone else
through a decision, and what is withheld reads exactly like what does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import NAMESPACE_URL, uuid5

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, StringConstraints

from divert_contracts.vocabulary import DEFAULT_PURPOSE, Jurisdiction
from divert_kernel import access
from divert_kernel.access import Owner
from divert_kernel.deps import CaseManager, Engine, Gate, Police
from divert_kernel.listing import decode_cursor, served_page
from referral.adapters import people
from referral.domain.disclosure import BASE
from referral.domain.enrolment import enrolment_of

router = APIRouter(tags=["daily views"])

ShortId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
IDENTITY = "identity"


class LookupOut(BaseModel):
    participant_id: str
    enrolment: str = Field(description="referred / enrolled / not_enrolled")
    not_enrolled_reason: str | None
    case_manager_id: str | None = Field(description="who to call; None until a case manager is assigned")
    case_management_agency: str | None


@router.get("/v1/people/lookup", response_model=LookupOut)
async def field_lookup(
    principal: Police,
    engine: Engine,
    gate: Gate,
    jurisdiction: Annotated[Jurisdiction, Query()],
    rms_person_id: Annotated[ShortId, Query(description="the caller's own agency's RMS person id")],
) -> LookupOut:
    """Is this person in LEAD, and how do I reach the case manager? Only where the participant's ROI or the site's
    MOU lets this police agency see identity and referral; otherwise exactly like an RMS id nobody knows."""
    principal.check_jurisdiction(jurisdiction)
    async with engine.connect() as conn:
        # An RMS id means something only in the RMS that issued it: only the caller's own referrals are searched.
        rows = await people.by_rms_id(conn, jurisdiction, principal.agency, rms_person_id)
    # The answer (enrolment, the case manager) is no police record: every answer is decided, none is owned.
    owner = Owner(jurisdiction, None) if rows else None
    unknown = str(uuid5(NAMESPACE_URL, f"{jurisdiction}/{principal.agency}/{rms_person_id}"))
    participant_id = rows[0]["participant_id"] if rows else unknown
    ask = {"participant_id": participant_id, "purpose": DEFAULT_PURPOSE[principal.agency_type]}
    for category in (BASE, IDENTITY):
        await access.read_one(gate, principal, owner, category=category, **ask)
    enrolment, reason = enrolment_of(rows)
    held = next((r for r in rows if r["handoff_agency"]), None)
    return LookupOut(
        participant_id=participant_id,
        enrolment=enrolment,
        not_enrolled_reason=reason,
        case_manager_id=held["case_manager_id"] if held else None,
        case_management_agency=held["handoff_agency"] if held else None,
    )


class DiscretionRecordOut(BaseModel):
    record_id: str
    jurisdiction: str
    offense_codes: list[str]
    reason: str
    officer_badge: str
    race: str
    ethnicity: str
    gender: str
    age_band: str
    recorded_at: datetime


class DiscretionPage(BaseModel):
    items: list[DiscretionRecordOut]
    next_cursor: str | None


@router.get("/v1/discretion-records", response_model=DiscretionPage)
async def discretion_records(
    principal: Police,
    engine: Engine,
    jurisdiction: Annotated[Jurisdiction, Query()],
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> DiscretionPage:
    """The documented discretion this agency recorded (its own records only), a page at a time."""
    principal.check_jurisdiction(jurisdiction)

    recorders: dict[str, str] = {}

    async with engine.connect() as conn:

        async def fetch(after: str | None, n: int) -> list[dict[str, Any]]:
            rows = await people.discretion_after(conn, jurisdiction, principal.agency, after, n)
            recorders.update({r["record_id"]: r["recorded_by"] for r in rows})
            return rows

        async def own(ids: list[str]) -> set[str]:
            return {i for i in ids if access.owns(principal, Owner(jurisdiction, recorders[i]))}

        rows, next_cursor = await served_page(fetch, own, key="record_id", after=decode_cursor(cursor), limit=limit)
    return DiscretionPage(items=[DiscretionRecordOut(**r) for r in rows], next_cursor=next_cursor)


class CaseloadPerson(BaseModel):
    participant_id: str
    enrolment: str
    not_enrolled_reason: str | None
    first_name: str | None = Field(None, description="present only where identity may be read")
    last_name: str | None = None


class CaseloadOut(BaseModel):
    case_manager_id: str
    participants: list[CaseloadPerson]


@router.get(
    "/v1/case-managers/{case_manager_id}/participants", response_model=CaseloadOut, response_model_exclude_none=True
)
async def caseload(
    case_manager_id: Annotated[ShortId, Path()],
    principal: CaseManager,
    engine: Engine,
    gate: Gate,
    jurisdiction: Annotated[Jurisdiction, Query()],
) -> CaseloadOut:
    """A case manager's own participants with names, for the provider holding them (named in the hand-off):
    each decided (the MOU's hand-off term), names only with an identity permit."""
    principal.check_jurisdiction(jurisdiction)
    async with engine.connect() as conn:
        rows = await people.caseload(conn, jurisdiction, principal.agency, case_manager_id)
    by_person: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_person.setdefault(row["participant_id"], []).append(row)
    newest = [referrals[0] for referrals in by_person.values()]
    served = await access.read_rows(
        gate,
        principal,
        newest,
        # The person and the referral are the referring agency's records; the provider reads them by decision.
        owner_of=lambda r: Owner(r["jurisdiction"], r["referring_agency"]),
        participant_of=lambda r: str(r["participant_id"]),
        categories=[BASE, IDENTITY],
        purpose=DEFAULT_PURPOSE[principal.agency_type],
    )
    listed = []
    for row, reads in served:
        enrolment, reason = enrolment_of(by_person[row["participant_id"]])
        names = {"first_name": row["first_name"], "last_name": row["last_name"]} if IDENTITY in reads else {}
        listed.append(
            CaseloadPerson(
                participant_id=row["participant_id"], enrolment=enrolment, not_enrolled_reason=reason, **names
            )
        )
    return CaseloadOut(case_manager_id=case_manager_id, participants=listed)
