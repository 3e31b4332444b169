"""Thin routes: the eligibility policy, its presets, screenings, and documented discretion."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from divert_contracts.vocabulary import (
    AGENCY_TYPES,
    AgeBand,
    AgencyId,
    AgencyType,
    Ethnicity,
    Gender,
    Jurisdiction,
    OffenseCode,
    Race,
    ReferralType,
)
from divert_kernel.deps import AnyAgency, Bus, Engine, Police, ProjectManager, SiteDirectory
from divert_kernel.errors import NotFound, RuleViolated
from divert_kernel.sites import Sites
from referral.adapters import records
from referral.domain import commands
from referral.domain.eligibility import DISCRETION_REASONS, EXCLUSIONS
from referral.domain.settings import DEFAULT_TIME_ZONE, SETTING_NAMES, SiteSettings

router = APIRouter(tags=["eligibility"])

PRESETS = Path(__file__).resolve().parent.parent / "presets"
Exclusion = Literal[EXCLUSIONS]  # type: ignore[valid-type]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OffenseIn(_Strict):
    code: OffenseCode = Field(description="NIBRS code")
    statute: Text
    description: Text


class SettingsIn(_Strict):
    """The site's settings, versioned with the policy (defaults: the toolkit's)."""

    caseload_cap: int = Field(25, ge=1, le=200, description="most participants one case manager carries")
    caseload_preferred: int = Field(15, ge=1, le=200)
    program_capacity: int = Field(200, ge=1, le=100_000)
    time_zone: str | None = Field(
        None, max_length=64, description="IANA name; deadlines are its calendar dates (default: the site directory's)"
    )
    intake_extension_max_days: int = Field(30, ge=1, le=365)
    intake_extensions_total_max_days: int = Field(90, ge=1, le=730)
    social_contact_intake_target_days: int = Field(30, ge=1, le=365)
    owg_lookback_days: int = Field(14, ge=1, le=90, description="the OWG agenda's look-back: biweekly by default")
    drug_quantity_threshold: Text | None = Field(None, description="shown to officers as written")


class PolicyIn(SettingsIn):
    divertible_offenses: list[OffenseIn] = Field(min_length=1, max_length=500)
    exclusions: list[Exclusion] = Field(description="which of the toolkit's seven exclusions the site applies")
    intake_window_days: int = Field(ge=1, le=365)
    social_contact_referrers: list[AgencyType | AgencyId] = Field(
        min_length=1,
        max_length=50,
        description="who may make social-contact referrals: an agency type (every agency of it in the site) or one "
        "agency's id (that partner only)",
    )
    victim_must_decline: bool = False


class PolicyOut(BaseModel):
    jurisdiction: str
    policy_version: int
    divertible_offenses: list[dict[str, str]]
    exclusions: list[str]
    intake_window_days: int
    social_contact_referrers: list[str]
    victim_must_decline: bool
    amended_by: str | None = None
    amended_at: datetime | None = None
    caseload_cap: int
    caseload_preferred: int
    program_capacity: int
    time_zone: str
    intake_extension_max_days: int
    intake_extensions_total_max_days: int
    social_contact_intake_target_days: int
    owg_lookback_days: int
    drug_quantity_threshold: str | None


class ScreeningIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "jurisdiction": "seattle-king-county",
                    "referral_type": "arrest_diversion",
                    "offense_codes": ["35A"],
                    "exclusions_present": [],
                    "victim_wants_prosecution": False,
                }
            ]
        },
    )
    jurisdiction: Jurisdiction
    referral_type: ReferralType
    offense_codes: list[OffenseCode] = Field(default_factory=list, max_length=20)
    exclusions_present: list[Exclusion] = Field(default_factory=list)
    victim_wants_prosecution: bool = Field(False, description="where a victim exists and wants the case prosecuted")
    # Category codes for the equity review (DESIGN §4), never a birth date or a name; each optional.
    race: Race | None = None
    ethnicity: Ethnicity | None = None
    gender: Gender | None = None
    age_band: AgeBand | None = None

    def demographics(self) -> tuple[tuple[str, str], ...]:
        codes = {"race": self.race, "ethnicity": self.ethnicity, "gender": self.gender, "age_band": self.age_band}
        return tuple((name, code) for name, code in codes.items() if code is not None)


class ScreeningOut(BaseModel):
    screening_id: str
    eligible: bool
    reasons: list[str]
    policy_version: int
    drug_quantity_threshold: str | None = Field(
        None, description="the site's threshold for the drug-quantity exclusion, for the officer to judge against"
    )


class DiscretionIn(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "jurisdiction": "seattle-king-county",
                    "offense_codes": ["35A"],
                    "reason": "outstanding_warrant",
                    "officer_badge": "B-4411",
                    "race": "black",
                    "ethnicity": "not_hispanic_or_latino",
                    "gender": "female",
                    "age_band": "25-34",
                }
            ]
        },
    )
    jurisdiction: Jurisdiction
    offense_codes: list[OffenseCode] = Field(min_length=1, max_length=20)
    reason: Literal[DISCRETION_REASONS]  # type: ignore[valid-type]
    officer_badge: Annotated[str, Field(min_length=1, max_length=64)]
    race: Race
    ethnicity: Ethnicity
    gender: Gender
    age_band: AgeBand


class DiscretionOut(BaseModel):
    record_id: str


@router.put("/v1/jurisdictions/{jurisdiction}/eligibility-policy", response_model=PolicyOut)
async def amend_policy(
    jurisdiction: Jurisdiction, body: PolicyIn, principal: ProjectManager, bus: Bus, sites: SiteDirectory
) -> PolicyOut:
    """Set a new version of the site's eligibility policy and settings (EligibilityPolicyAmended); history is never
    rewritten."""
    principal.check_jurisdiction(jurisdiction)
    _check_referrers(body.social_contact_referrers, sites, jurisdiction)
    site = sites.get(jurisdiction)
    settings = {name: getattr(body, name) for name in SETTING_NAMES}
    settings["time_zone"] = body.time_zone or (site.time_zone if site else DEFAULT_TIME_ZONE)
    command = commands.AmendPolicy(
        jurisdiction=jurisdiction,
        divertible_offenses=tuple((o.code, o.statute, o.description) for o in body.divertible_offenses),
        exclusions=tuple(body.exclusions),
        intake_window_days=body.intake_window_days,
        social_contact_referrers=tuple(body.social_contact_referrers),
        victim_must_decline=body.victim_must_decline,
        amended_by=principal.agency,
        settings=SiteSettings(**settings),
    )
    document: dict[str, Any] = await bus.handle(command)
    return PolicyOut(jurisdiction=jurisdiction, amended_by=principal.agency, **document)


@router.get("/v1/jurisdictions/{jurisdiction}/eligibility-policy", response_model=PolicyOut)
async def get_policy(
    jurisdiction: Jurisdiction,
    principal: AnyAgency,
    engine: Engine,
    sites: SiteDirectory,
    version: Annotated[int | None, Query(ge=1, description="a past version; the current one if omitted")] = None,
) -> PolicyOut:
    """The site's eligibility policy, current or as of a version."""
    principal.check_jurisdiction(jurisdiction)
    async with engine.connect() as conn:
        stored = await records.policy(conn, jurisdiction, version)
    if stored is None:
        raise NotFound("this jurisdiction has no such policy version", field="version" if version else "jurisdiction")
    site = sites.get(jurisdiction)
    settings = SiteSettings.from_document(stored["document"], site.time_zone if site else None)
    document = {**stored["document"], **settings.as_document()}
    return PolicyOut(
        jurisdiction=jurisdiction, amended_by=stored["amended_by"], amended_at=stored["amended_at"], **document
    )


def _check_referrers(referrers: list[str], sites: Sites, jurisdiction: str) -> None:
    """An agency id must be one of the site's agencies (where the directory knows the site)."""
    site = sites.get(jurisdiction)
    known = {a.agency_id for a in site.agencies} if site else None
    for referrer in referrers:
        if referrer not in AGENCY_TYPES and known is not None and referrer not in known:
            raise RuleViolated(
                f"{referrer} is neither an agency type nor an agency of this site", field="social_contact_referrers"
            )


@router.get("/v1/eligibility-presets", response_model=dict[str, dict[str, Any]])
async def presets(principal: AnyAgency) -> dict[str, dict[str, Any]]:
    """The toolkit's two example policies and two site presets, ready to PUT as a jurisdiction's policy."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(PRESETS.glob("*.json"))}


@router.post("/v1/screenings", response_model=ScreeningOut)
async def screen(body: ScreeningIn, principal: Police, bus: Bus) -> ScreeningOut:
    """Is this contact eligible under the site's current policy? Every reason, and the policy version used."""
    principal.check_jurisdiction(body.jurisdiction)
    outcome = await bus.handle(
        commands.Screen(
            body.jurisdiction,
            body.referral_type,
            tuple(body.offense_codes),
            tuple(body.exclusions_present),
            screened_by=principal.person or principal.agency,
            victim_wants_prosecution=body.victim_wants_prosecution,
            demographics=body.demographics(),
        )
    )
    return ScreeningOut(**outcome)


@router.post("/v1/discretion-records", status_code=201, response_model=DiscretionOut)
async def record_discretion(body: DiscretionIn, principal: Police, bus: Bus, response: Response) -> DiscretionOut:
    """Document an eligible contact the officer did not divert, and why (EligibleContactNotDiverted)."""
    principal.check_jurisdiction(body.jurisdiction)
    command = commands.RecordDiscretion(
        jurisdiction=body.jurisdiction,
        offense_codes=tuple(body.offense_codes),
        reason=body.reason,
        officer_badge=body.officer_badge,
        race=body.race,
        ethnicity=body.ethnicity,
        gender=body.gender,
        age_band=body.age_band,
        recorded_by=principal.agency,
    )
    record_id = await bus.handle(command)
    response.headers["Location"] = "/v1/discretion-records"  # records are read as a list; none has a URL of its own
    return DiscretionOut(record_id=record_id)
