"""Events the referral service (police) publishes."""

from __future__ import annotations

from datetime import date, datetime

from divert_contracts.vocabulary import AgeBand, Ethnicity, Gender, OffenseCode, Race, ReferralType
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


class SocialContactReferralSubmitted(_ReferralEvent):
    """A social-contact referral awaits the Operations Work Group; no charge is involved."""

    referral_id: str
    participant_id: str
    referral_type: ReferralType
    referring_agency: str
    officer_badge: str
    policy_version: int
    submitted_at: datetime
    race: Race
    ethnicity: Ethnicity
    gender: Gender
    age_band: AgeBand
