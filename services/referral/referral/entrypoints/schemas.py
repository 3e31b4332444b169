"""Request and response bodies of the referral API (DESIGN §7 field names)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from divert_contracts.vocabulary import (
    AgencyId,
    Ethnicity,
    Gender,
    Jurisdiction,
    OffenseCode,
    Race,
    ReferralType,
    ReferredTo,
    UnitCode,
)
from referral.domain.eligibility import EXCLUSIONS

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonIn(_Strict):
    first_name: Name
    last_name: Name
    date_of_birth: date
    race: Race
    ethnicity: Ethnicity
    gender: Gender
    rms_person_id: ShortId | None = Field(None, description="police only: required from police, refused from community")


class IncidentIn(_Strict):
    rms_incident_number: ShortId | None = Field(None, description="police only, like rms_person_id")
    offense_codes: list[OffenseCode] = Field(max_length=20)
    occurred_at: AwareDatetime
    location: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class OfficerIn(_Strict):
    """Who made the referral: an officer (badge required), or a community referrer's worker (no badge)."""

    badge_number: ShortId | None = None
    name: Name
    unit: UnitCode | None = Field(
        None,
        description="the officer's unit (precinct, squad) as a code, for the per-unit equity view",
        examples=["west-precinct"],
    )


class OfficerOut(BaseModel):
    badge_number: str | None
    name: str | None


class ReferralIn(_Strict):
    jurisdiction: Jurisdiction
    referral_type: ReferralType
    person: PersonIn
    incident: IncidentIn
    officer: OfficerIn | None = Field(None, description="required from police; a community referrer may leave it out")
    exclusions_present: list[Literal[EXCLUSIONS]] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description="exclusions the officer found; any of them makes an arrest diversion ineligible",
    )
    victim_wants_prosecution: bool = Field(False, description="where a victim exists and wants the case prosecuted")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "jurisdiction": "seattle-king-county",
                    "referral_type": "arrest_diversion",
                    "person": {
                        "first_name": "Alex",
                        "last_name": "Doe",
                        "date_of_birth": "1990-04-01",
                        "race": "white",
                        "ethnicity": "not_hispanic_or_latino",
                        "gender": "male",
                        "rms_person_id": "P-1001",
                    },
                    "incident": {
                        "rms_incident_number": "2026-000123",
                        "offense_codes": ["35A"],
                        "occurred_at": "2026-11-20T14:05:00Z",
                        "location": "3rd Ave & Pine St",
                    },
                    "officer": {"badge_number": "B-4411", "name": "Officer Example"},
                }
            ]
        },
    )


class ReferralCreated(BaseModel):
    referral_id: str
    participant_id: str
    status: str
    intake_deadline: date | None
    policy_version: int


class PersonOut(BaseModel):
    first_name: str
    last_name: str
    date_of_birth: date
    race: str
    ethnicity: str
    gender: str
    rms_person_id: str | None


class ReferralOut(BaseModel):
    referral_id: str
    jurisdiction: str
    participant_id: str
    referral_type: str
    status: str
    referring_agency: str
    offense_codes: list[str]
    occurred_at: datetime
    intake_deadline: date | None
    policy_version: int
    created_at: datetime
    person: PersonOut | None = Field(None, description="present only when the caller may read identity")
    officer: OfficerOut | None = None
    rms_incident_number: str | None = None
    location: str | None = None
    referred_to: str | None = Field(None, description="a denied social contact: where the person was referred instead")


class DeclineIn(_Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "person_declined"}]})
    reason: Literal["person_declined", "person_left", "other"] = Field(
        description="a code; declining has no consequence beyond ordinary processing"
    )


class HandoffIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "case_manager_id": "cm-17",
                    "case_management_agency": "lead-case-management",
                    "location": "LEAD office, 2nd Ave",
                    "at": "2026-11-20T16:30:00Z",
                }
            ]
        },
    )
    case_manager_id: ShortId
    case_management_agency: AgencyId | None = Field(
        None,
        description="the provider receiving the participant; required where the site has more than one",
        examples=["lead-case-management"],
    )
    location: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    at: AwareDatetime


class OwgDecisionIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "decision": "denied",
                    "decided_by": "owg-chair-3",
                    "reason": "Better served by the shelter's own outreach team.",
                    "referred_to": "shelter",
                }
            ]
        },
    )
    decision: Literal["approved", "denied"]
    decided_by: ShortId = Field(description="who decided for the Operations Work Group (an opaque staff id)")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)] = Field(
        description="free text: kept in the referral service, never published"
    )
    referred_to: ReferredTo | None = Field(
        None, description="where the person was referred instead: required on a denial, refused on an approval"
    )


class LifecycleOut(BaseModel):
    referral_id: str
    status: str
