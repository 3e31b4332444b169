"""The referral aggregate: an officer's offer of diversion or a social-contact referral."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import singledispatchmethod

from divert_contracts.referral import DiversionOffered, SocialContactReferralSubmitted
from divert_kernel.aggregate import Aggregate
from divert_kernel.events import Event
from referral.domain.commands import SubmitReferral
from referral.domain.errors import IneligibleReferral


@dataclass(frozen=True)
class SitePolicy:
    """The eligibility policy a referral is judged under; version 0 is the site's built-in default."""

    version: int
    intake_window_days: int


def age_band(born: date, on: date) -> str:
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    bands = [(18, "under_18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64")]
    return next((band for limit, band in bands if age < limit), "65_and_over")


class Referral(Aggregate):
    stream_prefix = "referral"

    status: str
    intake_deadline: date | None

    @classmethod
    def submit(
        cls, referral_id: str, participant_id: str, cmd: SubmitReferral, policy: SitePolicy, now: datetime
    ) -> Referral:
        referral = cls(referral_id, cmd.jurisdiction)
        referral.check_not_in_future(cmd.incident.occurred_at, now)
        demographics = {
            "race": cmd.person.race,
            "ethnicity": cmd.person.ethnicity,
            "gender": cmd.person.gender,
            "age_band": age_band(cmd.person.date_of_birth, cmd.incident.occurred_at.date()),
        }
        common = {
            "referral_id": referral_id,
            "participant_id": participant_id,
            "referral_type": cmd.referral_type,
            "referring_agency": cmd.referring_agency,
            "officer_badge": cmd.officer.badge_number,
            "policy_version": policy.version,
            **demographics,
        }
        if cmd.referral_type == "arrest_diversion":
            referral.check_has_offense(cmd)
            referral._record(
                DiversionOffered(
                    **common,
                    offense_codes=list(cmd.incident.offense_codes),
                    intake_window_days=policy.intake_window_days,
                    intake_deadline=now.date() + timedelta(days=policy.intake_window_days),
                    offered_at=now,
                    rms_incident_number=cmd.incident.rms_incident_number,
                )
            )
        else:
            referral._record(SocialContactReferralSubmitted(**common, submitted_at=now))
        return referral

    @staticmethod
    def check_not_in_future(occurred_at: datetime, now: datetime) -> None:
        if occurred_at > now:
            raise IneligibleReferral("the incident cannot have occurred in the future", field="incident.occurred_at")

    @staticmethod
    def check_has_offense(cmd: SubmitReferral) -> None:
        if not cmd.incident.offense_codes:
            raise IneligibleReferral("an arrest diversion names the offense it diverts", field="incident.offense_codes")

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"Referral cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: DiversionOffered) -> None:
        self.status = "offered"
        self.intake_deadline = event.intake_deadline

    @apply.register
    def _(self, event: SocialContactReferralSubmitted) -> None:
        self.status = "submitted"
        self.intake_deadline = None
