"""Instructions the referral service accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    date_of_birth: date
    race: str
    ethnicity: str
    gender: str
    rms_person_id: str


@dataclass(frozen=True)
class Incident:
    rms_incident_number: str
    offense_codes: tuple[str, ...]
    occurred_at: datetime
    location: str


@dataclass(frozen=True)
class Officer:
    badge_number: str
    name: str


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


@dataclass(frozen=True)
class Screen:
    jurisdiction: str
    referral_type: str
    offense_codes: tuple[str, ...]
    exclusions_present: tuple[str, ...]
    screened_by: str = ""
    victim_wants_prosecution: bool = False


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


@dataclass(frozen=True)
class RecordDiscretion:
    jurisdiction: str
    offense_codes: tuple[str, ...]
    reason: str
    officer_badge: str
    race: str
    ethnicity: str
    gender: str
    age_band: str
    recorded_by: str = ""
