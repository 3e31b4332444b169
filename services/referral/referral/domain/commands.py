"""Instructions the referral service accepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from divert_contracts.vocabulary import AgeBand, Ethnicity, Gender, Race
from referral.domain.settings import SiteSettings


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    date_of_birth: date
    race: str
    ethnicity: str
    gender: str
    # None for a community referrer: it has no RMS.
    rms_person_id: str | None


@dataclass(frozen=True)
class Incident:
    rms_incident_number: str | None
    offense_codes: tuple[str, ...]
    occurred_at: datetime
    location: str


@dataclass(frozen=True)
class Officer:
    """Who made the referral: a police officer (badge and name) or a community referrer (no badge)."""

    badge_number: str | None
    name: str | None
    unit: str | None = None


@dataclass(frozen=True)
class SubmitReferral:
    jurisdiction: str
    referral_type: str
    referring_agency: str
    person: Person
    incident: Incident
    officer: Officer
    referring_agency_type: str = "police"
    exclusions_present: tuple[str, ...] = ()
    victim_wants_prosecution: bool = False


@dataclass(frozen=True)
class AmendPolicy:
    jurisdiction: str
    divertible_offenses: tuple[tuple[str, str, str], ...]
    exclusions: tuple[str, ...]
    intake_window_days: int
    social_contact_referrers: tuple[str, ...]
    victim_must_decline: bool
    amended_by: str
    settings: SiteSettings = field(default_factory=SiteSettings)


@dataclass(frozen=True)
class Screen:
    jurisdiction: str
    referral_type: str
    offense_codes: tuple[str, ...]
    exclusions_present: tuple[str, ...]
    screened_by: str = ""
    victim_wants_prosecution: bool = False
    # Category codes only (race, ethnicity, gender, age_band), for the equity review; empty when not given.
    demographics: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AcceptDiversion:
    referral_id: str


@dataclass(frozen=True)
class DeclineDiversion:
    referral_id: str
    reason: str


@dataclass(frozen=True)
class CompleteHandoff:
    referral_id: str
    case_manager_id: str
    location: str
    at: datetime
    case_management_agency: str


@dataclass(frozen=True)
class DecideSocialContact:
    referral_id: str
    approved: bool
    decided_by: str
    reason: str
    referred_to: str | None = None


@dataclass(frozen=True)
class RecordDiscretion:
    jurisdiction: str
    offense_codes: tuple[str, ...]
    reason: str
    officer_badge: str
    race: Race
    ethnicity: Ethnicity
    gender: Gender
    age_band: AgeBand
    recorded_by: str = ""


@dataclass(frozen=True)
class LinkParticipants:
    """The project manager resolved a person-match review as one person: `same_as` is the candidate it names
    (None: the review's only candidate)."""

    review_id: str
    jurisdictions: tuple[str, ...]  # the caller's: a review elsewhere reads as unknown
    same_as: str | None
    resolved_by: str
