"""Thin routes: consents and access decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from consent.adapters import store
from consent.domain import commands
from consent.domain.errors import ConsentNotFound
from divert_contracts.vocabulary import AgencyId, AgencyType, Category, Jurisdiction, Purpose
from divert_kernel.auth import Principal, require
from divert_kernel.deps import Bus, Engine
from divert_kernel.errors import Forbidden

router = APIRouter(tags=["consents"])

CaseManager = Annotated[Principal, Depends(require("case_management"))]
ConsentReader = Annotated[Principal, Depends(require("case_management", "auditor"))]
AnyAgency = Annotated[Principal, Depends(require())]


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient_agency: AgencyId
    categories: list[Category] = Field(min_length=1)
    purposes: list[Purpose] = Field(min_length=1)


class ConsentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "participant_id": "4a895e8b-dd3c-4524-85d5-1433d577a4c7",
                    "jurisdiction": "seattle-king-county",
                    "grants": [
                        {
                            "recipient_agency": "kcpao",
                            "categories": ["assessment"],
                            "purposes": ["diversion_monitoring"],
                        }
                    ],
                    "effective_at": "2026-11-23T00:00:00Z",
                    "expires_at": "2027-11-23T00:00:00Z",
                    "signed_document_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                }
            ]
        },
    )

    participant_id: UUID
    jurisdiction: Jurisdiction
    grants: list[GrantIn] = Field(min_length=1, max_length=50)
    effective_at: AwareDatetime
    expires_at: AwareDatetime
    signed_document_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ConsentCreated(BaseModel):
    consent_id: str


class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient_agency: AgencyId | None = Field(None, description="omit to revoke the whole consent")


class RevocationOut(BaseModel):
    consent_id: str
    recipient_agency: str | None
    revoked: Literal[True] = True


class GrantOut(BaseModel):
    recipient_agency: str
    categories: list[str]
    purposes: list[str]
    revoked_at: datetime | None


class ConsentOut(BaseModel):
    consent_id: str
    participant_id: str
    jurisdiction: str
    disclosing_agency: str
    effective_at: datetime
    expires_at: datetime
    signed_document_sha256: str
    revoked_at: datetime | None
    created_at: datetime
    grants: list[GrantOut]


class AccessRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participant_id: UUID
    jurisdiction: Jurisdiction
    requester_agency: AgencyId
    requester_agency_type: AgencyType | None = Field(None, description="auditors asking about another agency")
    category: Category
    purpose: Purpose


class DecisionOut(BaseModel):
    decision_id: str
    decision: Literal["permit", "deny"]
    basis: dict[str, Any] | None
    obligations: list[dict[str, Any]]


@router.post("/v1/consents", status_code=201, response_model=ConsentCreated)
async def record_consent(body: ConsentIn, principal: CaseManager, bus: Bus) -> ConsentCreated:
    """Record a signed Release of Information; publishes ConsentGranted."""
    principal.check_jurisdiction(body.jurisdiction)
    command = commands.RecordConsent(
        participant_id=str(body.participant_id),
        jurisdiction=body.jurisdiction,
        disclosing_agency=principal.agency,
        grants=tuple(commands.Grant(g.recipient_agency, tuple(g.categories), tuple(g.purposes)) for g in body.grants),
        effective_at=body.effective_at,
        expires_at=body.expires_at,
        signed_document_sha256=body.signed_document_sha256,
    )
    return ConsentCreated(consent_id=await bus.handle(command))


async def _consent(engine: Engine, consent_id: UUID, principal: Principal) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = await store.get_consent(conn, str(consent_id))
    if row is None or row["jurisdiction"] not in principal.jurisdictions:
        raise ConsentNotFound()
    return row


@router.get("/v1/consents/{consent_id}", response_model=ConsentOut)
async def get_consent(consent_id: UUID, principal: ConsentReader, engine: Engine) -> ConsentOut:
    """The consent with every grant and its revocation state."""
    return ConsentOut(**await _consent(engine, consent_id, principal))


@router.post("/v1/consents/{consent_id}/revocation", response_model=RevocationOut)
async def revoke_consent(
    consent_id: UUID, principal: CaseManager, bus: Bus, engine: Engine, body: RevocationIn | None = None
) -> RevocationOut:
    """Revoke the whole consent or one recipient's grant; every read that starts afterwards is refused."""
    await _consent(engine, consent_id, principal)
    recipient = body.recipient_agency if body else None
    await bus.handle(commands.RevokeConsent(str(consent_id), recipient))
    return RevocationOut(consent_id=str(consent_id), recipient_agency=recipient)


@router.post("/v1/access-decisions", response_model=DecisionOut)
async def decide_access(body: AccessRequestIn, principal: AnyAgency, bus: Bus) -> DecisionOut:
    """Permit or deny one read, with its basis and obligations; every decision is recorded and audited."""
    principal.check_jurisdiction(body.jurisdiction)
    asking_for_itself = body.requester_agency == principal.agency
    if not asking_for_itself and principal.agency_type != "auditor":
        raise Forbidden("an agency may ask only about its own reads", field="requester_agency")
    requester_type = principal.agency_type if asking_for_itself else (body.requester_agency_type or "unknown")
    command = commands.DecideAccess(
        participant_id=str(body.participant_id),
        jurisdiction=body.jurisdiction,
        requester_agency=body.requester_agency,
        requester_agency_type=requester_type,
        requester_client=principal.client_id,
        acting_person=principal.person,
        category=body.category,
        purpose=body.purpose,
    )
    decided = await bus.handle(command)
    return DecisionOut(**decided.__dict__)
