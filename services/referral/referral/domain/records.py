"""The policy book (versions of a jurisdiction's eligibility policy), screenings and discretion records."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from divert_contracts.referral import ContactScreened, EligibilityPolicyAmended, EligibleContactNotDiverted
from divert_kernel.aggregate import Aggregate
from divert_kernel.events import Event
from referral.domain import commands
from referral.domain.eligibility import DISCRETION_REASONS, EXCLUSIONS, DivertibleOffense, EligibilityPolicy
from referral.domain.errors import IneligibleReferral
from referral.domain.settings import SiteSettings


class PolicyBook(Aggregate):
    """Every version of one jurisdiction's policy; amending adds a version and never rewrites one."""

    stream_prefix = "policy"

    def __init__(self, jurisdiction: str, _: str | None = None) -> None:
        super().__init__(jurisdiction, jurisdiction)
        self.current_version = 0

    def amend(self, cmd: commands.AmendPolicy, now: datetime) -> EligibilityPolicyAmended:
        unknown = sorted(set(cmd.exclusions) - set(EXCLUSIONS))
        if unknown:
            raise IneligibleReferral(f"unknown exclusion: {', '.join(unknown)}", field="exclusions")
        if not 1 <= cmd.intake_window_days <= 365:
            raise IneligibleReferral("the intake window is 1 to 365 days", field="intake_window_days")
        cmd.settings.check()
        codes = [code for code, _, _ in cmd.divertible_offenses]
        if len(set(codes)) != len(codes):
            raise IneligibleReferral("each divertible offense code appears once", field="divertible_offenses")
        amended = EligibilityPolicyAmended(
            policy_version=self.current_version + 1,
            divertible_offense_codes=codes,
            exclusions=sorted(cmd.exclusions),
            intake_window_days=cmd.intake_window_days,
            social_contact_referrers=sorted(cmd.social_contact_referrers),
            victim_must_decline=cmd.victim_must_decline,
            amended_by=cmd.amended_by,
            amended_at=now,
            **cmd.settings.as_document(),
        )
        self._record(amended)
        return amended

    @singledispatchmethod
    def apply(self, event: Event) -> None:
        raise TypeError(f"PolicyBook cannot apply {type(event).__name__}")

    @apply.register
    def _(self, event: EligibilityPolicyAmended) -> None:
        self.current_version = event.policy_version


def policy_from_document(document: dict, time_zone: str | None = None) -> EligibilityPolicy:  # type: ignore[type-arg]
    """The policy as stored in the read model (one row per version); `time_zone` for versions stored before
    settings were."""
    return EligibilityPolicy(
        version=document["policy_version"],
        intake_window_days=document["intake_window_days"],
        divertible_offenses=tuple(DivertibleOffense(**o) for o in document["divertible_offenses"]),
        exclusions=frozenset(document["exclusions"]),
        social_contact_referrers=frozenset(document["social_contact_referrers"]),
        victim_must_decline=document["victim_must_decline"],
        settings=SiteSettings.from_document(document, time_zone),
    )


class Screening(Aggregate):
    stream_prefix = "screening"

    @classmethod
    def record(cls, screening_id: str, cmd: commands.Screen, policy: EligibilityPolicy, now: datetime) -> Screening:
        unknown = sorted(set(cmd.exclusions_present) - set(EXCLUSIONS))
        if unknown:
            raise IneligibleReferral(f"unknown exclusion: {', '.join(unknown)}", field="exclusions_present")
        reasons = policy.screen(
            cmd.referral_type, cmd.offense_codes, cmd.exclusions_present, cmd.victim_wants_prosecution
        )
        screening = cls(screening_id, cmd.jurisdiction)
        # Category codes only, checked against the vocabulary where the command was built.
        demographics: dict[str, Any] = dict(cmd.demographics)
        screening._record(
            ContactScreened(
                screening_id=screening_id,
                referral_type=cmd.referral_type,  # type: ignore[arg-type]
                offense_codes=list(cmd.offense_codes),
                exclusions_present=list(cmd.exclusions_present),
                eligible=not reasons,
                reasons=reasons,
                policy_version=policy.version,
                screened_at=now,
                **demographics,
            )
        )
        return screening

    def apply(self, event: Event) -> None:
        pass


class DiscretionRecord(Aggregate):
    stream_prefix = "discretion"

    @classmethod
    def record(cls, record_id: str, cmd: commands.RecordDiscretion, now: datetime) -> DiscretionRecord:
        if cmd.reason not in DISCRETION_REASONS:
            raise IneligibleReferral(f"reason is one of: {', '.join(DISCRETION_REASONS)}", field="reason")
        record = cls(record_id, cmd.jurisdiction)
        record._record(
            EligibleContactNotDiverted(
                record_id=record_id,
                offense_codes=list(cmd.offense_codes),
                reason=cmd.reason,
                officer_badge=cmd.officer_badge,
                race=cmd.race,
                ethnicity=cmd.ethnicity,
                gender=cmd.gender,
                age_band=cmd.age_band,
                recorded_at=now,
            )
        )
        return record

    def apply(self, event: Event) -> None:
        pass
