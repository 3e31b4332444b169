"""Which service owns which public path. The gateway holds no data of its own on these paths."""

from __future__ import annotations

import re

_ID = r"[^/]+"

ROUTES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), service)
    for pattern, service in (
        (
            r"^/v1/(referrals|screenings|jurisdictions|discretion-records|eligibility-presets|person-matches|owg)(/|$)",
            "referral",
        ),
        # Issue 10's daily views served by the referral service (before casemgmt's /v1/case-managers).
        (rf"^/v1/case-managers/{_ID}/participants/?$", "referral"),
        (r"^/v1/people/lookup/?$", "referral"),
        (rf"^/v1/participants/{_ID}/disclosures(/|$)", "audit"),
        (rf"^/v1/participants/{_ID}/court-dates(/|$)", "prosecution"),
        (r"^/v1/participants(/|$)", "casemgmt"),
        (r"^/v1/(case-managers|caseloads)(/|$)", "casemgmt"),
        (r"^/v1/(consents|access-decisions|site-grants|break-glass)(/|$)", "consent"),
        (r"^/v1/(held-charges|cases|prosecution)(/|$)", "prosecution"),
        (r"^/v1/audit(/|$)", "audit"),
        (r"^/v1/evaluation(/|$)", "evaluation"),
    )
)


def owner_of(path: str) -> str | None:
    """The service that owns a public path, or None."""
    return next((service for pattern, service in ROUTES if pattern.match(path)), None)
