"""The referral aggregate: an officer's offer of diversion or a social-contact referral."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import singledispatchmethod
from typing import Any, cast

from divert_contracts.referral import (
    DiversionAccepted,
    DiversionDeclined,
    DiversionOffered,
    SocialContactReferralApproved,
    SocialContactReferralDenied,
    SocialContactReferralReleased,
    SocialContactReferralSubmitted,
    WarmHandoffCompleted,
)
from divert_contracts.vocabulary import ReferredTo
from divert_kernel.aggregate import Aggregate
from divert_kernel.events import Event
from referral.domain.commands import SubmitReferral
from referral.domain.eligibility import EligibilityPolicy
from referral.domain.errors import IneligibleReferral, NotAReferrer, WrongState

REFERRED_TO: tuple[str, ...] = ReferredTo.__args__  # type: ignore[attr-defined]


def age_band(born: date, on: date) -> str:
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    bands = [(18, "under_18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64")]
    return next((band for limit, band in bands if age < limit), "65_and_over")


def receiving_provider(named: str | None, providers: Sequence[str] | None) -> str:
    """The case-management provider a hand-off gives the participant to.

    `providers` are the site's case-management agencies (None: the site is not in the directory, so the
    hand-off must name one and is taken at its word). A site with one provider needs no name.
    """
    field = "case_management_agency"
    if providers is None or len(providers) != 1:
        if named is None:
            raise IneligibleReferral("name the case-management provider receiving the participant", field=field)
        if providers is not None and named not in providers:
            raise IneligibleReferral("not a case-management provider of this site", field=field)
        return named
    if named is not None and named != providers[0]:
        raise IneligibleReferral("not a case-management provider of this site", field=field)
    return providers[0]


class Referral(Aggregate):
    stream_prefix = "referral"

    status: str
    intake_deadline: date | None

    @classmethod
    def submit(
        cls, referral_id: str, participant_id: str, cmd: SubmitReferral, policy: EligibilityPolicy, now: datetime
    ) -> Referral:
        referral = cls(referral_id, cmd.jurisdiction)
        referral.check_police_fields(cmd)
        referral.check_not_in_future(cmd.incident.occurred_at, now, cmd.person.date_of_birth)
        referral.check_eligible(cmd, policy)
        # Any: the events' fields are checked by pydantic when they are built, one value type per key.
        demographics: dict[str, Any] = {
            "race": cmd.person.race,
            "ethnicity": cmd.person.ethnicity,
            "gender": cmd.person.gender,
            "age_band": age_band(cmd.person.date_of_birth, cmd.incident.occurred_at.date()),
        }
        common: dict[str, Any] = {
            "referral_id": referral_id,
            "participant_id": participant_id,
            "referral_type": cmd.referral_type,
            "referring_agency": cmd.referring_agency,
            "officer_badge": cmd.officer.badge_number,
            "officer_unit": cmd.officer.unit,
            "policy_version": policy.version,
            **demographics,
        }
        if cmd.referral_type == "arrest_diversion":
            referral._record(
                DiversionOffered(
                    **common,
                    offense_codes=list(cmd.incident.offense_codes),
                    intake_window_days=policy.intake_window_days,
                    intake_deadline=policy.settings.local_date(now) + timedelta(days=policy.intake_window_days),
                    offered_at=now,
                    rms_incident_number=cmd.incident.rms_incident_number,
                )
            )
        else:
            referral._record(SocialContactReferralSubmitted(**common, submitted_at=now))
        return referral

    @staticmethod
    def check_police_fields(cmd: SubmitReferral) -> None:
        """A police referral carries the RMS ids and the badge; a community referrer has none of them."""
        police_fields = {
            "person.rms_person_id": cmd.person.rms_person_id,
            "incident.rms_incident_number": cmd.incident.rms_incident_number,
            "officer.badge_number": cmd.officer.badge_number,
        }
        community = cmd.referring_agency_type == "community"
        for name, value in police_fields.items():
            if community and value is not None:
                raise IneligibleReferral("a community referrer has no RMS ids or badge: leave this out", field=name)
            if not community and value is None:
                raise IneligibleReferral("a police referral carries this", field=name)

    @staticmethod
    def check_not_in_future(occurred_at: datetime, now: datetime, born_on: date | None = None) -> None:
        if occurred_at > now:
            raise IneligibleReferral("the incident cannot have occurred in the future", field="incident.occurred_at")
        if born_on is not None and born_on > occurred_at.date():
            raise IneligibleReferral("the person cannot be born after the incident", field="person.date_of_birth")

    @staticmethod
    def check_eligible(cmd: SubmitReferral, policy: EligibilityPolicy) -> None:
        """An offer to an ineligible person is refused with every reason; who may refer socially is site policy."""
        social = cmd.referral_type == "social_contact"
        if social and not policy.may_refer_social_contact(cmd.referring_agency_type, cmd.referring_agency):
            raise NotAReferrer(cmd.referring_agency_type)
        reasons = policy.screen(
            cmd.referral_type, cmd.incident.offense_codes, cmd.exclusions_present, cmd.victim_wants_prosecution
        )
        if reasons:
            exclusions_only = all(r.startswith("exclusion") for r in reasons)
            field = "exclusions_present" if exclusions_only and not social else "incident.offense_codes"
            raise IneligibleReferral("not eligible for diversion: " + "; ".join(reasons), field=field)

    def accept(self, now: datetime) -> None:
        self.check_status("offered", "accept")
        self._record(DiversionAccepted(referral_id=self.id, participant_id=self.participant_id, accepted_at=now))

    def decline(self, now: datetime) -> None:
        self.check_status("offered", "decline")
        self._record(DiversionDeclined(referral_id=self.id, participant_id=self.participant_id, declined_at=now))

    def hand_off(self, case_manager_id: str, case_management_agency: str, at: datetime, now: datetime) -> None:
        if at > now:
            raise IneligibleReferral("a hand-off is recorded once it happened", field="at")
        ready = "accepted" if self.referral_type == "arrest_diversion" else "approved"
        self.check_status(ready, "hand off")
        self._record(
            WarmHandoffCompleted(
                referral_id=self.id,
                participant_id=self.participant_id,
                case_manager_id=case_manager_id,
                completed_at=at,
                case_management_agency=case_management_agency,
            )
        )

    def owg_decide(
        self,
        approved: bool,
        decided_by: str,
        now: datetime,
        *,
        program_full: bool = False,
        referred_to: str | None = None,
    ) -> None:
        """Approve (waitlisted while the program is full: queued, never lost) or deny a social-contact referral;
        a denial says where the person was referred instead."""
        if self.referral_type != "social_contact":
            raise WrongState("the Operations Work Group decides social-contact referrals only", field="referral_id")
        self.check_status("submitted", "decide on")
        if approved and referred_to is not None:
            raise IneligibleReferral(
                "an approval refers the person to LEAD: leave referred_to out", field="referred_to"
            )
        if not approved and referred_to not in REFERRED_TO:
            raise IneligibleReferral(
                "a denial says where the person was referred instead: " + ", ".join(REFERRED_TO), field="referred_to"
            )
        common: dict[str, Any] = {
            "referral_id": self.id,
            "participant_id": self.participant_id,
            "decided_by": decided_by,
            "decided_at": now,
        }
        if approved:
            self._record(SocialContactReferralApproved(**common, waitlisted=program_full))
        else:
            # One of REFERRED_TO: checked above.
            self._record(SocialContactReferralDenied(**common, referred_to=cast(ReferredTo, referred_to)))

    def release(self, now: datetime) -> None:
        self.check_status("waitlisted", "release")
        self._record(
            SocialContactReferralReleased(referral_id=self.id, participant_id=self.participant_id, released_at=now)
        )

    def check_status(self, needed: str, action: str) -> None:
        if self.status != needed:
            raise WrongState(
                f"cannot {action} a referral that is {self.status} (it must be {needed})", field="referral_id"
            )

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"Referral cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: DiversionOffered) -> None:
        self.status, self.referral_type = "offered", "arrest_diversion"
        self.participant_id = event.participant_id
        self.intake_deadline = event.intake_deadline

    @apply.register
    def _(self, event: SocialContactReferralSubmitted) -> None:
        self.status, self.referral_type = "submitted", "social_contact"
        self.participant_id = event.participant_id
        self.intake_deadline = None

    @apply.register
    def _(self, event: DiversionAccepted) -> None:
        self.status = "accepted"

    @apply.register
    def _(self, event: DiversionDeclined) -> None:
        self.status = "declined"

    @apply.register
    def _(self, event: SocialContactReferralApproved) -> None:
        self.status = "waitlisted" if event.waitlisted else "approved"

    @apply.register
    def _(self, event: SocialContactReferralReleased) -> None:
        self.status = "approved"

    @apply.register
    def _(self, event: SocialContactReferralDenied) -> None:
        self.status = "denied"

    @apply.register
    def _(self, event: WarmHandoffCompleted) -> None:
        self.status = "handed_off"
