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
