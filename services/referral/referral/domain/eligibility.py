"""The site's eligibility policy and the screening it drives. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from referral.domain.settings import SiteSettings

# The toolkit's seven exclusions (sample policy, Examples 1 and 2).
EXCLUSIONS = (
    "unable_to_consent",
    "drug_quantity_over_threshold",
    "sale_above_subsistence",
    "exploits_minors_or_others",
    "probable_cause_violent_offense",
    "order_of_protection_violation",
    "imminent_danger_acute_care",
)
DISCRETION_REASONS = (
    "declined_by_person",
    "victim_requests_prosecution",
    "safety_concern",
    "outstanding_warrant",
    "under_supervision",
    "officer_judgment",
)


@dataclass(frozen=True)
class DivertibleOffense:
    code: str
    statute: str
    description: str


@dataclass(frozen=True)
class EligibilityPolicy:
    """One version of a jurisdiction's policy. Version 0 is the built-in default before a site sets its own."""

    version: int
    intake_window_days: int
    divertible_offenses: tuple[DivertibleOffense, ...] = ()
    exclusions: frozenset[str] = frozenset(EXCLUSIONS)
    social_contact_referrers: frozenset[str] = frozenset({"police"})
    victim_must_decline: bool = False
    every_offense_divertible: bool = field(default=False)
    settings: SiteSettings = field(default_factory=SiteSettings)

    @property
    def divertible_codes(self) -> frozenset[str]:
        return frozenset(o.code for o in self.divertible_offenses)

    def screen(
        self,
        referral_type: str,
        offense_codes: Iterable[str],
        exclusions_present: Iterable[str],
        victim_wants_prosecution: bool = False,
    ) -> list[str]:
        """Every reason the person is not eligible; an empty list means eligible."""
        codes = list(offense_codes)
        if referral_type != "arrest_diversion":
            # Social contacts: the site's criteria other than the exclusions (nobody is in custody, no victim
            # decides): the behaviour must be one the site diverts.
            if not codes:
                return ["a social-contact referral names the behaviour (offense code) it concerns"]
            return self._not_divertible(codes)
        reasons = []
        if self.victim_must_decline and victim_wants_prosecution:
            reasons.append("the site requires the victim to decline prosecution, and the victim has not")
        if not codes:
            reasons.append("an arrest diversion names the offense it diverts")
        reasons += self._not_divertible(codes)
        reasons += [f"exclusion applies: {e}" for e in sorted(set(exclusions_present) & self.exclusions)]
        return reasons

    def _not_divertible(self, codes: list[str]) -> list[str]:
        if self.every_offense_divertible:
            return []
        return [
            f"offense {code} is not divertible under policy version {self.version}"
            for code in codes
            if code not in self.divertible_codes
        ]

    def may_refer_social_contact(self, agency_type: str, agency_id: str) -> bool:
        """Who may refer socially is named by agency type (every agency of it in the site) or by agency id (that
        one partner): a site may trust all its police but only one community organisation."""
        return agency_type in self.social_contact_referrers or agency_id in self.social_contact_referrers


def default_policy(intake_window_days: int, time_zone: str | None = None) -> EligibilityPolicy:
    """Before a site loads its policy: every offense divertible, all seven exclusions, police refer socially,
    the default settings in the site directory's time zone."""
    settings = SiteSettings(time_zone=time_zone) if time_zone else SiteSettings()
    return EligibilityPolicy(
        version=0, intake_window_days=intake_window_days, every_offense_divertible=True, settings=settings
    )
