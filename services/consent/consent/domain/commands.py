"""Instructions the consent service accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Grant:
    recipient_agency: str
    categories: tuple[str, ...]
    purposes: tuple[str, ...]
    irrevocable_until: datetime | None = None


@dataclass(frozen=True)
class RecordConsent:
    participant_id: str
    jurisdiction: str
    disclosing_agency: str
    grants: tuple[Grant, ...]
    effective_at: datetime
    expires_at: datetime
    signed_document_sha256: str | None
    wording_version: str
    expires_on_event: str | None = None
    draft: bool = False


@dataclass(frozen=True)
class Requester:
    """Who asks to change a consent: only the provider holding the participant may."""

    agency: str
    jurisdictions: frozenset[str]


@dataclass(frozen=True)
class SignConsent:
    consent_id: str
    signed_document_sha256: str
    requester: Requester


@dataclass(frozen=True)
class RevokeConsent:
    consent_id: str
    recipient_agency: str | None
    requester: Requester


@dataclass(frozen=True)
class ExpireConsentsOnExit:
    participant_id: str


@dataclass(frozen=True)
class SiteMouInForce:
    """The newest recorded MOU of a jurisdiction, recording the site directory's version first if it is new."""

    jurisdiction: str


@dataclass(frozen=True)
class BreakGlass:
    participant_id: str
    jurisdiction: str
    requester_agency: str
    requester_agency_type: str
    acting_person: str | None
    categories: tuple[str, ...]
    reason: str
    minutes: int


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
    what_if: bool = False


@dataclass(frozen=True)
class DecideMany:
    requests: tuple[DecideAccess, ...]
