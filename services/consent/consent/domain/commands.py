"""Instructions the consent service accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Grant:
    recipient_agency: str
    categories: tuple[str, ...]
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class RecordConsent:
    participant_id: str
    jurisdiction: str
    disclosing_agency: str
    grants: tuple[Grant, ...]
    effective_at: datetime
    expires_at: datetime
    signed_document_sha256: str


@dataclass(frozen=True)
class RevokeConsent:
    consent_id: str
    recipient_agency: str | None


@dataclass(frozen=True)
class DecideAccess:
    participant_id: str
    jurisdiction: str
    requester_agency: str
    requester_agency_type: str
    requester_client: str
    acting_person: str | None
    category: str
    purpose: str
