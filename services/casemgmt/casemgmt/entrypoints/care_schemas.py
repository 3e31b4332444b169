"""Request and response schemas of the care routes: the screening form, plan, contacts and caseloads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from divert_contracts.vocabulary import Ethnicity, Gender, OffenseCode, Purpose, Race

Obligations = Annotated[
    list[dict[str, Any]],
    Field(description="what must travel with the parts served to another agency: security labels, the §2.32 notice"),
]
PurposeQuery = Annotated[Purpose | None, Query(description="why the caller reads; defaults by agency type")]
Note = Annotated[str, Field(min_length=1, max_length=2000)]
Short = Annotated[str, Field(min_length=1, max_length=200)]
StaffId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:@-]{1,64}$")]
AREAS = (
    "help_obtaining_id",
    "emergency_housing",
    "health_care",
    "food_clothing",
    "education_job_training",
    "employment_assistance",
    "legal_assistance",
    "mental_health_counselling",
    "public_benefits",
    "substance_abuse_treatment",
    "narcan_syringe_exchange",
    "transportation_assistance",
    "other",
)
SUBSTANCE_AREAS, MENTAL_HEALTH_AREAS = (
    {"substance_abuse_treatment", "narcan_syringe_exchange"},
    {"mental_health_counselling"},
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Assistance(_Strict):
    needs: bool = False
    has: bool = False
    notes: Note | None = None


class ContributingFactors(_Strict):
    alcohol: bool
    drugs: bool
    mental_health: bool
    explain: Note | None = None


class ScreeningForm(_Strict):
    """The toolkit's client initial screening form. The Social Security number is deliberately not collected."""

    screened_at: AwareDatetime
    location: Short
    screening_case_manager: StaffId
    arresting_officer: StaffId | None = None
    lead_intake_officer: StaffId | None = None
    diverted_charges: list[OffenseCode] = Field(default_factory=list, max_length=20)
    contributing_factors: ContributingFactors
    nicknames: list[Short] = Field(default_factory=list, max_length=10)
    gender: Gender
    race: Race
    ethnicity: Ethnicity
    veteran: bool
    veteran_explain: Note | None = None
    address: Short | None = None
    phone: Annotated[str, Field(pattern=r"^[0-9+() .-]{3,32}$")] | None = None
    homeless: bool
    slept_last_night: Short | None = None
    where_to_find: Short | None = Field(None, description="where LEAD staff can contact or locate the person")
    employed: bool
    employer: Short | None = None
    public_assistance: list[Literal["medicaid", "medicare", "ssi", "ssd", "other"]] = Field(default_factory=list)
    drug_court: bool
    drug_court_explain: Note | None = None
    probation: bool
    probation_explain: Note | None = None
    probation_officer: Short | None = None
    will_sign_roi: bool
    assistance: dict[Literal[AREAS], Assistance] = Field(default_factory=dict)  # type: ignore[valid-type]
    immediate_actions: Note | None = None


class ScreeningOut(BaseModel):
    participant_id: str
    screened_by: str
    completed_at: datetime
    form: dict[str, Any]
    withheld: list[str] = Field(description="categories left out for this reader (no permit)")
    obligations: Obligations = []


class AssignIn(_Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"case_manager_id": "cm-17"}]})
    case_manager_id: StaffId


class CaseloadsOut(BaseModel):
    cap: int
    preferred: int
    unassigned: int
    case_managers: list[dict[str, Any]]


class ProgressNote(_Strict):
    on: date
    note: Note


class Goal(_Strict):
    goal: Note = Field(description="in the participant's own words")
    action_steps: list[Note] = Field(default_factory=list, max_length=30)
    progress: list[ProgressNote] = Field(default_factory=list, max_length=200)


class PlanIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "goals": [
                        {
                            "goal": "Get my ID back",
                            "action_steps": ["Order a birth certificate"],
                            "progress": [{"on": "2026-11-21", "note": "Form filled in together"}],
                        }
                    ]
                }
            ]
        },
    )
    goals: list[Goal] = Field(min_length=1, max_length=30)


class PlanOut(BaseModel):
    participant_id: str
    plan_version: int
    goals: list[dict[str, Any]]
    updated_by: str
    updated_at: datetime
    obligations: Obligations = []


class ContactIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2026-11-21",
                    "kind": "street",
                    "staff_id": "cm-17",
                    "notes": "Met at the day center; wants help getting an ID.",
                }
            ]
        },
    )
    occurred_on: date
    kind: Literal["street", "office", "phone", "accompanied_appointment", "court"]
    staff_id: StaffId
    notes: Note | None = None


class ContactsOut(BaseModel):
    participant_id: str
    counts: dict[str, int]
    contacts: list[dict[str, Any]]
    obligations: Obligations = []
