import pytest

from divert_gateway.domain.routes import owner_of


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/referrals", "referral"),
        ("/v1/referrals/abc/acceptance", "referral"),
        ("/v1/screenings", "referral"),
        ("/v1/eligibility-presets", "referral"),
        ("/v1/person-matches/abc/resolution", "referral"),
        ("/v1/discretion-records", "referral"),
        ("/v1/caseloads", "casemgmt"),
        ("/v1/participants/abc/plan", "casemgmt"),
        ("/v1/jurisdictions/santa-fe/eligibility-policy", "referral"),
        ("/v1/participants/abc/intake", "casemgmt"),
        ("/v1/participants/abc/status", "casemgmt"),
        ("/v1/participants/abc/disclosures", "audit"),
        ("/v1/participants/abc/court-dates", "prosecution"),
        ("/v1/consents/abc/revocation", "consent"),
        ("/v1/access-decisions", "consent"),
        ("/v1/held-charges/abc/filing", "prosecution"),
        ("/v1/cases/abc/reviews", "prosecution"),
        ("/v1/prosecution/queue", "prosecution"),
        ("/v1/audit/verification", "audit"),
        ("/v1/evaluation/continuum", "evaluation"),
        ("/v1/evaluation/report", "evaluation"),
        ("/v1/owg/agenda", "referral"),
        ("/v1/participants", "casemgmt"),
        ("/v1/participants/export", "casemgmt"),
        ("/v1/site-grants", "consent"),
        ("/v1/break-glass", "consent"),
    ],
)
def test_each_public_path_goes_to_its_owner(path: str, service: str) -> None:
    assert owner_of(path) == service


@pytest.mark.parametrize("path", ["/v1/referralsx", "/v1/", "/v2/referrals", "/v1/participantsx"])
def test_unknown_paths_have_no_owner(path: str) -> None:
    assert owner_of(path) is None
