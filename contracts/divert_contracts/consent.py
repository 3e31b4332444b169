"""Events the consent service publishes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from divert_contracts.vocabulary import Category, Purpose
from divert_kernel.events import Event


class _ConsentEvent(Event):
    service = "consent"


class GrantTerms(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    recipient_agency: str
    categories: list[Category]
    purposes: list[Purpose]


class ConsentGranted(_ConsentEvent):
    consent_id: str
    participant_id: str
    grants: list[GrantTerms]
    effective_at: datetime
    expires_at: datetime
    signed_document_sha256: str


class ConsentRevoked(_ConsentEvent):
    """Whole revocation when recipient_agency is None; reads starting after revoked_at are refused."""

    consent_id: str
    participant_id: str
    recipient_agency: str | None
    revoked_at: datetime


class AccessDecided(_ConsentEvent):
    decision_id: str
    participant_id: str
    requester_agency: str
    requester_agency_type: str
    category: Category
    purpose: Purpose
    decision: Literal["permit", "deny"]
    basis_kind: Literal["consent", "site_grant", "none"]
    basis_id: str | None
    decided_at: datetime
