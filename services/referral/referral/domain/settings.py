"""A site's settings, versioned with its eligibility policy (DESIGN §3). Pure: no I/O."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from referral.domain.errors import IneligibleReferral

DEFAULT_TIME_ZONE = "America/Los_Angeles"


@cache
def _time_zones() -> frozenset[str]:
    """A site's local calendar is a place's: Area/Location names only (not the host's `localtime`, `Factory`,
    fixed offsets or legacy aliases)."""
    places = (
        "Africa/",
        "America/",
        "Antarctica/",
        "Asia/",
        "Atlantic/",
        "Australia/",
        "Europe/",
        "Indian/",
        "Pacific/",
    )
    return frozenset(z for z in available_timezones() if z.startswith(places))


@dataclass(frozen=True)
class SiteSettings:
    """Defaults are the toolkit's: 25 participants per case manager (15 preferred), a biweekly OWG."""

    caseload_cap: int = 25
    caseload_preferred: int = 15
    program_capacity: int = 200
    time_zone: str = DEFAULT_TIME_ZONE
    intake_extension_max_days: int = 30
    intake_extensions_total_max_days: int = 90
    social_contact_intake_target_days: int = 30
    owg_lookback_days: int = 14
    # Shown to officers as the site wrote it (e.g. "more than 3 grams"): the exclusion is the officer's judgment.
    drug_quantity_threshold: str | None = None

    def check(self) -> None:
        """Every setting within bounds, or the first one that is not, named."""
        if self.time_zone not in _time_zones():
            raise IneligibleReferral("time_zone is an IANA time zone name, e.g. America/Denver", field="time_zone")
        if self.caseload_preferred > self.caseload_cap:
            raise IneligibleReferral("the preferred caseload is at most the cap", field="caseload_preferred")
        if self.intake_extension_max_days > self.intake_extensions_total_max_days:
            raise IneligibleReferral(
                "one extension is at most the total extensions allow", field="intake_extension_max_days"
            )

    def local_date(self, at: datetime) -> date:
        """The calendar date at the site when `at` happened: deadlines are the site's days, not UTC's."""
        return at.astimezone(ZoneInfo(self.time_zone)).date()

    def as_document(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_document(cls, document: dict[str, Any], time_zone: str | None = None) -> SiteSettings:
        """The settings stored with a policy version; a version stored before settings existed has the defaults
        (and `time_zone`, the site directory's, where given)."""
        defaults = {"time_zone": time_zone} if time_zone else {}
        return cls(**defaults | {f.name: document[f.name] for f in fields(cls) if f.name in document})


SETTING_NAMES = tuple(f.name for f in fields(SiteSettings))
