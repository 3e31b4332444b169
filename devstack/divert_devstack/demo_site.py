"""The demo: two LEAD sites worth trying isolation on, seeded at first start of `make run`.

`seattle-king-county` has two police agencies and two case-management providers (so that "another agency of
the same type" is real), and `santa-fe` is a second jurisdiction with its own agencies. Each site's MOU is
the default of DESIGN §5: the warm hand-off packet to the provider named in the hand-off, the referral to
the prosecutor's office holding the charge, and what the project manager needs to run the OWG.
"""

from __future__ import annotations

from typing import Any

SEATTLE = "seattle-king-county"
SANTA_FE = "santa-fe"

AGENCIES: dict[str, tuple[tuple[str, str], ...]] = {
    SEATTLE: (
        ("seattle-pd", "police"),
        ("kc-sheriff", "police"),
        ("lead-case-management", "case_management"),
        ("evergreen-cm", "case_management"),
        ("kc-prosecutor", "prosecutor"),
        ("kc-public-defender", "defender"),
        ("lead-project-manager", "project_manager"),
        ("lead-auditor", "auditor"),
        ("lead-evaluator", "evaluator"),
        ("downtown-community", "community"),
    ),
    SANTA_FE: (
        ("santa-fe-pd", "police"),
        ("santa-fe-cm", "case_management"),
        ("santa-fe-da", "prosecutor"),
        ("santa-fe-pm", "project_manager"),
    ),
}
# The preset each site's eligibility policy starts from (referral/presets/*.json).
PRESETS = {SEATTLE: "king-county-30-day", SANTA_FE: "santa-fe-7-day"}
TIME_ZONES = {SEATTLE: "America/Los_Angeles", SANTA_FE: "America/Denver"}


def default_mou(project_manager: str) -> list[dict[str, Any]]:
    return [
        {"relation": "handoff_provider", "categories": ["identity", "referral"], "purposes": ["care_coordination"]},
        {"relation": "charge_holder", "categories": ["referral"], "purposes": ["diversion_monitoring"]},
        {"agencies": [project_manager], "categories": ["identity", "referral"], "purposes": ["program_operations"]},
    ]


def sites() -> dict[str, Any]:
    """The site directory (divert_kernel.sites) for both demo jurisdictions."""
    return {
        "sites": [
            {
                "jurisdiction": jurisdiction,
                "version": 1,
                "approved_by": f"PCG demo approval ({jurisdiction}, version 1)",
                "time_zone": TIME_ZONES[jurisdiction],
                "agencies": [{"agency_id": a, "agency_type": t} for a, t in agencies],
                "mou": default_mou(next(a for a, t in agencies if t == "project_manager")),
            }
            for jurisdiction, agencies in AGENCIES.items()
        ]
    }
