"""Request and response bodies of the consent API (DESIGN §7 names; additions are optional)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from divert_contracts.vocabulary import AgencyId, AgencyType, Category, Jurisdiction, Purpose

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
WordingVersion = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,32}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GrantIn(_Strict):
    recipient_agency: AgencyId
    categories: list[Category] = Field(min_length=1)
    purposes: list[Purpose] = Field(min_length=1)
    irrevocable_until: AwareDatetime | None = Field(
        None, description="42 CFR §2.35: a diversion_monitoring grant may be irrevocable until this time"
    )
    recipient_agency_type: AgencyType | None = Field(
        None,
        json_schema_extra={"deprecated": True},
        description="ignored: the site's agency registry says what kind of agency the recipient is",
    )


EXAMPLE_CONSENT = {
    "participant_id": "4a895e8b-dd3c-4524-85d5-1433d577a4c7",
    "jurisdiction": "seattle-king-county",
    "grants": [
        {
            "recipient_agency": "kc-prosecutor",
            "categories": ["assessment"],
            "purposes": ["diversion_monitoring"],
            "irrevocable_until": "2027-02-01T00:00:00Z",
        },
        {"recipient_agency": "seattle-pd", "categories": ["referral"], "purposes": ["care_coordination"]},
    ],
    "effective_at": "2026-11-23T00:00:00Z",
    "expires_at": "2027-11-23T00:00:00Z",
    "signed_document_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "wording_version": "kc-roi-2026.1",
}


class ConsentIn(_Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_CONSENT]})

    participant_id: UUID
    jurisdiction: Jurisdiction
    grants: list[GrantIn] = Field(min_length=1, max_length=50)
    effective_at: AwareDatetime
    expires_at: AwareDatetime
    signed_document_sha256: Sha256 | None = Field(None, description="required unless state is draft")
    wording_version: WordingVersion = "unspecified"
    expires_on_event: Literal["program_exit"] | None = Field(None, description="also expires when this happens")
    state: Literal["signed", "draft"] = "signed"


class ConsentCreated(BaseModel):
    consent_id: str
    state: Literal["active", "draft"]


class SignatureIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"signed_document_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]
        },
    )
    signed_document_sha256: Sha256


class RevocationIn(_Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"recipient_agency": "king-county-pao"}]})
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
    irrevocable_until: datetime | None


class ConsentOut(BaseModel):
    consent_id: str
    participant_id: str
    jurisdiction: str
    disclosing_agency: str
    state: Literal["draft", "active", "revoked", "expired"]
    effective_at: datetime
    expires_at: datetime
    expires_on_event: str | None
    signed_document_sha256: str | None
    wording_version: str
    revoked_at: datetime | None
    expired_at: datetime | None
    created_at: datetime
    grants: list[GrantOut]


class ConsentListOut(BaseModel):
    items: list[ConsentOut] = Field(description="the participant's consents, newest first, drafts included")
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last page")


class RoiOnFileIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"participant_id": "7d9f2c1e-4b3a-4e8f-9c2d-1a6b5e4f3c21", "jurisdiction": "seattle-king-county"}
            ]
        },
    )
    participant_id: UUID
    jurisdiction: Jurisdiction


class RoiOnFileOut(BaseModel):
    on_file: bool = Field(description="a signed ROI in force names the provider holding the participant")
    consent_id: str | None = Field(description="the newest such ROI")
    holder_known: bool = Field(description="false until this service has seen the hand-off to the caller")


class AccessRequestIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "participant_id": "7d9f2c1e-4b3a-4e8f-9c2d-1a6b5e4f3c21",
                    "jurisdiction": "seattle-king-county",
                    "requester_agency": "seattle-pd",
                    "category": "court_dates",
                    "purpose": "diversion_monitoring",
                }
            ]
        },
    )
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
    flags: list[str]


class BatchIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "requests": [
                        {
                            "participant_id": "7d9f2c1e-4b3a-4e8f-9c2d-1a6b5e4f3c21",
                            "jurisdiction": "seattle-king-county",
                            "requester_agency": "seattle-pd",
                            "category": "court_dates",
                            "purpose": "diversion_monitoring",
                        }
                    ]
                }
            ]
        },
    )
    requests: list[AccessRequestIn] = Field(min_length=1, max_length=1000)


class BatchOut(BaseModel):
    decisions: list[DecisionOut]


class SiteGrantOut(BaseModel):
    """One term of the site's MOU: bound to a relation to the participant, or to named agencies."""

    grant_id: str = Field(description="names jurisdiction, MOU version and term; the basis id of its permits")
    relation: Literal["handoff_provider", "charge_holder"] | None
    agencies: list[str]
    categories: list[str]
    purposes: list[str]


class SiteMouOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "jurisdiction": "seattle-king-county",
                    "version": 1,
                    "approved_by": "PCG minutes 2026-10-14, item 3",
                    "recorded_at": "2026-11-23T00:00:00Z",
                    "terms": [
                        {
                            "grant_id": "mou:seattle-king-county:v1:term-1",
                            "relation": "handoff_provider",
                            "agencies": [],
                            "categories": ["identity", "referral"],
                            "purposes": ["care_coordination"],
                        }
                    ],
                }
            ]
        }
    )

    jurisdiction: str
    version: int | None = Field(description="the MOU version in force; null when the site has none")
    approved_by: str | None = Field(description="the Policy Coordinating Group's approval reference")
    recorded_at: datetime | None
    terms: list[SiteGrantOut]


class BreakGlassIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "participant_id": "7d9f2c1e-4b3a-4e8f-9c2d-1a6b5e4f3c21",
                    "jurisdiction": "seattle-king-county",
                    "categories": ["identity", "mental_health"],
                    "reason": "In crisis at the emergency room; the care team needs the safety plan now.",
                    "minutes": 30,
                }
            ]
        },
    )
    participant_id: UUID
    jurisdiction: Jurisdiction
    categories: list[Category] = Field(min_length=1)
    reason: str = Field(min_length=20, max_length=2000, description="why this cannot wait for a consent")
    minutes: int = Field(60, ge=1, le=60)


class BreakGlassOut(BaseModel):
    break_glass_id: str
    expires_at: datetime


class CategoryPreview(BaseModel):
    category: str
    shared_for: list[str] = Field(description="the grant's purposes the gate will permit this category for")
    never_for: list[str] = Field(description="the grant's purposes the gate will always refuse it for")


class RecipientPreview(BaseModel):
    recipient_agency: str
    recipient_agency_type: str = Field(description="from the site's agency registry")
    shares: list[str] = Field(description="categories the gate will permit for at least one of the purposes")
    never_shared: list[str] = Field(description="categories the gate will refuse for every purpose named")
    purposes: list[str]
    categories: list[CategoryPreview]
    text: str


class PreviewOut(BaseModel):
    recipients: list[RecipientPreview]


class ScopeIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "jurisdiction": "seattle-king-county",
                    "requester_agency": "lead-case-management",
                    "category": "plan",
                    "purpose": "care_coordination",
                }
            ]
        },
    )
    jurisdiction: Jurisdiction
    requester_agency: AgencyId
    category: Category
    purpose: Purpose


class ScopeOut(BaseModel):
    everyone: bool = Field(description="a site grant covers every participant in the jurisdiction")
    participant_ids: list[str]


class ConsentVersion(BaseModel):
    version: int
    change: str = Field(description="ConsentDrafted, ConsentGranted, ConsentRevoked or ConsentExpired")
    recorded_at: datetime
    terms: dict[str, Any]
