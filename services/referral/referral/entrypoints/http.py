"""Thin routes: validate, build a command, hand it to the bus; reads come from read models."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from divert_contracts.vocabulary import DEFAULT_PURPOSE
from divert_kernel.auth import Principal, require
from divert_kernel.deps import Bus, Engine, Gate
from divert_kernel.gate import not_permitted
from referral.adapters import store
from referral.domain import commands
from referral.entrypoints.schemas import OfficerIn, PersonOut, ReferralCreated, ReferralIn, ReferralOut

router = APIRouter(prefix="/v1/referrals", tags=["referrals"])

Police = Annotated[Principal, Depends(require("police"))]
AnyCaller = Annotated[Principal, Depends(require())]


@router.post("", status_code=201, response_model=ReferralCreated)
async def submit_referral(body: ReferralIn, principal: Police, bus: Bus) -> ReferralCreated:
    """Record an arrest diversion offer or a social-contact referral; publishes DiversionOffered or
    SocialContactReferralSubmitted."""
    principal.check_jurisdiction(body.jurisdiction)
    command = commands.SubmitReferral(
        jurisdiction=body.jurisdiction,
        referral_type=body.referral_type,
        referring_agency=principal.agency,
        person=commands.Person(**body.person.model_dump()),
        incident=commands.Incident(
            **{**body.incident.model_dump(), "offense_codes": tuple(body.incident.offense_codes)}
        ),
        officer=commands.Officer(**body.officer.model_dump()),
    )
    accepted = await bus.handle(command)
    return ReferralCreated(**accepted.__dict__)


@router.get("/{referral_id}", response_model=ReferralOut, response_model_exclude_none=True)
async def get_referral(referral_id: UUID, principal: AnyCaller, engine: Engine, gate: Gate) -> ReferralOut:
    """The referral: in full for the referring police agency, otherwise only what the consent gate permits."""
    async with engine.connect() as conn:
        row = await store.get_referral(conn, str(referral_id))
    if row is not None and row["referring_agency"] == principal.agency:
        return _referral_out(row, identity=True, owner=True)
    if row is None or row["jurisdiction"] not in principal.jurisdictions:
        raise not_permitted()
    ask = {
        "participant_id": row["participant_id"],
        "jurisdiction": row["jurisdiction"],
        "purpose": DEFAULT_PURPOSE[principal.agency_type],
    }
    await gate.require(principal, category="referral", **ask)
    identity = await gate.permits(principal, category="identity", **ask)
    return _referral_out(row, identity=identity, owner=False)


def _referral_out(row: dict[str, Any], *, identity: bool, owner: bool) -> ReferralOut:
    """Minimum necessary: parts the caller may not read are left out, not blanked."""
    fields = {k: row[k] for k in ReferralOut.model_fields if k in row}
    if identity:
        fields["person"] = PersonOut(**{k: row[k] for k in PersonOut.model_fields})
    if owner:
        fields["officer"] = OfficerIn(badge_number=row["officer_badge"], name=row["officer_name"])
        fields["rms_incident_number"] = row["rms_incident_number"]
        fields["location"] = row["location"]
    return ReferralOut(**fields)
