"""Events the referral service (police) publishes."""

from __future__ import annotations

from datetime import date, datetime

from divert_contracts.vocabulary import (
    AgeBand,
    Ethnicity,
    Gender,
    OffenseCode,
    Race,
    ReferralType,
    ReferredTo,
    UnitCode,
)
from divert_kernel.events import Event


class _ReferralEvent(Event):
    service = "referral"


class DiversionOffered(_ReferralEvent):
    """An officer offered arrest diversion; the intake clock starts."""

    referral_id: str
    participant_id: str
    referral_type: ReferralType
    referring_agency: str
    officer_badge: str
    offense_codes: list[OffenseCode]
    policy_version: int
    intake_window_days: int
    intake_deadline: date
    offered_at: datetime
    # The RMS incident number: the charging paperwork the prosecutor holds (an id, never a narrative).
    rms_incident_number: str | None = None
    race: Race
    ethnicity: Ethnicity
    gender: Gender
    age_band: AgeBand
    # The officer's unit code, for the police per-unit equity view. None: not given, or before units were recorded.
    officer_unit: UnitCode | None = None


class SocialContactReferralSubmitted(_ReferralEvent):
    """A social-contact referral awaits the Operations Work Group; no charge is involved."""

    referral_id: str
    participant_id: str
    referral_type: ReferralType
    referring_agency: str
    # None when a community referrer made it: community referrers have no badge and no RMS.
    officer_badge: str | None = None
    policy_version: int
    submitted_at: datetime
    race: Race
    ethnicity: Ethnicity
    gender: Gender
    age_band: AgeBand
    officer_unit: UnitCode | None = None


class EligibilityPolicyAmended(_ReferralEvent):
    """A new version of the site's eligibility policy; screenings and referrals record the version they used."""

    policy_version: int
    divertible_offense_codes: list[OffenseCode]
    exclusions: list[str]
    intake_window_days: int
    social_contact_referrers: list[str]
    victim_must_decline: bool
    amended_by: str
    amended_at: datetime
    # The rest of the site's settings, versioned with the policy (DESIGN §3). Defaults: events before settings.
    caseload_cap: int = 25
    caseload_preferred: int = 15
    program_capacity: int = 200
    time_zone: str = "America/Los_Angeles"
    intake_extension_max_days: int = 30
    intake_extensions_total_max_days: int = 90
    social_contact_intake_target_days: int = 30
    owg_lookback_days: int = 14
    drug_quantity_threshold: str | None = None


class ContactScreened(_ReferralEvent):
    """A contact screened against the site's policy; the demographics feed the racial-equity review."""

    screening_id: str
    referral_type: ReferralType
    offense_codes: list[OffenseCode]
    exclusions_present: list[str]
    eligible: bool
    reasons: list[str]
    policy_version: int
    screened_at: datetime
    # Demographic category codes for the equity review (DESIGN §4), never a birth date or a name. None: not
    # given, or screened before screenings carried them.
    race: Race | None = None
    ethnicity: Ethnicity | None = None
    gender: Gender | None = None
    age_band: AgeBand | None = None


class DiversionAccepted(_ReferralEvent):
    referral_id: str
    participant_id: str
    accepted_at: datetime


class DiversionDeclined(_ReferralEvent):
    """Declining has no consequence beyond ordinary processing of the charge."""

    referral_id: str
    participant_id: str
    declined_at: datetime


class WarmHandoffCompleted(_ReferralEvent):
    """The person met their case manager; from now on `case_management_agency` holds the case-management records."""

    referral_id: str
    participant_id: str
    case_manager_id: str
    completed_at: datetime
    # The receiving provider, (jurisdiction, agency). None only in events recorded before providers were named.
    case_management_agency: str | None = None


class SocialContactReferralApproved(_ReferralEvent):
    referral_id: str
    participant_id: str
    decided_by: str
    decided_at: datetime
    # Approved while the program was full: queued until case management reports room.
    waitlisted: bool = False


class SocialContactReferralReleased(_ReferralEvent):
    """A waitlisted approval moved forward now that the program has room."""

    referral_id: str
    participant_id: str
    released_at: datetime


class SocialContactReferralDenied(_ReferralEvent):
    referral_id: str
    participant_id: str
    decided_by: str
    decided_at: datetime
    # Where the person was referred instead (any free text stays in the referral service).
    referred_to: ReferredTo | None = None


class ParticipantsLinked(_ReferralEvent):
    """The project manager found two records to be one person: `merged_participant_id` now reads as the survivor."""

    review_id: str
    survivor_participant_id: str
    merged_participant_id: str
    linked_at: datetime


class EligibleContactNotDiverted(_ReferralEvent):
    """An officer's documented discretion, kept for the racial-equity review."""

    record_id: str
    offense_codes: list[OffenseCode]
    reason: str
    officer_badge: str
    race: Race
    ethnicity: Ethnicity
    gender: Gender
    age_band: AgeBand
    recorded_at: datetime
