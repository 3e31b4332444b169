"""Events the consent service publishes. Ids, codes and times only: never names or the reasons people write."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from divert_contracts.vocabulary import AgencyType, Category, Purpose
from divert_kernel.events import Event

BasisKind = Literal["consent", "site_grant", "break_glass", "none"]
ExpiryEvent = Literal["program_exit"]


class _ConsentEvent(Event):
    service = "consent"


class GrantTerms(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    recipient_agency: str
    categories: list[Category]
    purposes: list[Purpose]
    # A 42 CFR §2.35 arrangement (the prosecutor monitoring a diverted charge) may be irrevocable until then.
    irrevocable_until: datetime | None = None


class ConsentDrafted(_ConsentEvent):
    """Terms being discussed with the participant; a draft never permits anything."""

    consent_id: str
    participant_id: str
    grants: list[GrantTerms]
    effective_at: datetime
    expires_at: datetime
    expires_on_event: ExpiryEvent | None = None
    wording_version: str


class ConsentGranted(_ConsentEvent):
    consent_id: str
    participant_id: str
    grants: list[GrantTerms]
    effective_at: datetime
    expires_at: datetime
    signed_document_sha256: str
    expires_on_event: ExpiryEvent | None = None
    wording_version: str = "unspecified"


class ConsentRevoked(_ConsentEvent):
    """Whole revocation when recipient_agency is None; reads starting after revoked_at are refused."""

    consent_id: str
    participant_id: str
    recipient_agency: str | None
    revoked_at: datetime


class ConsentExpired(_ConsentEvent):
    consent_id: str
    participant_id: str
    reason: ExpiryEvent
    expired_at: datetime


class SiteGrantIssued(_ConsentEvent):
    """Legacy: a term a project manager issued through the API, before the MOU came from the site's versioned
    settings. Kept readable for the events already stored; no longer recorded, and no longer a basis."""

    grant_id: str
    recipient_agency_type: AgencyType
    recipient_agency: str | None
    categories: list[Category]
    purposes: list[Purpose]
    issued_at: datetime


class SiteGrantWithdrawn(_ConsentEvent):
    """Legacy, like SiteGrantIssued."""

    grant_id: str
    withdrawn_at: datetime


class MouTermRecorded(BaseModel):
    """One data-sharing term of a site's MOU: bound to a relation to the participant, or to named agencies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    relation: Literal["handoff_provider", "charge_holder"] | None = None
    agencies: list[str] = Field(default_factory=list)
    categories: list[Category]
    purposes: list[Purpose]


class SiteMouRecorded(_ConsentEvent):
    """A version of the site's MOU, approved by the Policy Coordinating Group, is in force from `recorded_at`.

    The jurisdiction is the envelope's. Decisions use the newest recorded version."""

    version: int
    approved_by: str
    terms: list[MouTermRecorded]
    recorded_at: datetime


class BreakGlassInvoked(_ConsentEvent):
    """Emergency access without a consent: the written reason stays in the consent service."""

    break_glass_id: str
    participant_id: str
    requester_agency: str
    requester_agency_type: str
    acting_person: str | None
    categories: list[Category]
    invoked_at: datetime
    expires_at: datetime


class AccessDecided(_ConsentEvent):
    decision_id: str
    participant_id: str
    requester_agency: str
    requester_agency_type: str
    category: Category
    purpose: Purpose
    decision: Literal["permit", "deny"]
    basis_kind: BasisKind
    basis_id: str | None
    decided_at: datetime
    acting_person: str | None = None
    # "break_glass" for emergency access; "what_if" for an auditor's question that disclosed nothing.
    flags: list[str] = Field(default_factory=list)
