"""Issue 10, items 5, 7 and 10: the social-contact intake target, site settings, and minimum necessary inside
the screening form."""

from __future__ import annotations

from datetime import UTC, date, datetime

from casemgmt.domain.site import SiteSettings
from casemgmt.entrypoints.screening_view import minimum_necessary

FORM = {
    "location": "Day center",
    "nicknames": ["Red"],
    "address": "1 Main St",
    "phone": "555-0100",
    "where_to_find": "Under the bridge",
    "homeless": True,
    "slept_last_night": "Shelter",
    "public_assistance": ["ssi"],
    "probation": True,
    "probation_explain": "Until 2027",
    "probation_officer": "PO Smith",
    "drug_court": False,
    "drug_court_explain": "None",
    "veteran": False,
    "contributing_factors": {"alcohol": False, "drugs": True, "mental_health": True, "explain": "Uses daily."},
    "assistance": {
        "emergency_housing": {"needs": True},
        "public_benefits": {"needs": True},
        "substance_abuse_treatment": {"needs": True},
        "mental_health_counselling": {"needs": True},
        "food_clothing": {"needs": True},
    },
}


class TestSocialContactIntakeTarget:
    def test_the_target_is_the_sites_days_after_referral_as_a_local_date(self) -> None:
        # 05:00 UTC on the 23rd is still the 22nd in Seattle.
        submitted = datetime(2026, 11, 23, 5, tzinfo=UTC)
        assert SiteSettings().intake_target(submitted) == date(2026, 12, 22)
        assert SiteSettings(social_contact_intake_target_days=14).intake_target(submitted) == date(2026, 12, 6)


class TestMinimumNecessaryInsideTheForm:
    def test_screening_only_serves_no_identity_housing_benefits_legal_or_health_field(self) -> None:
        form, withheld = minimum_necessary(FORM, set())
        assert form == {
            "location": "Day center",
            "veteran": False,
            "contributing_factors": {},
            "assistance": {"food_clothing": {"needs": True}},
        }
        assert withheld == ["benefits", "housing", "identity", "legal_case", "mental_health", "substance_use"]

    def test_each_permitted_category_opens_only_its_own_fields(self) -> None:
        form, withheld = minimum_necessary(FORM, {"housing", "legal_case"})
        assert form["homeless"] is True and form["slept_last_night"] == "Shelter"
        assert form["assistance"].keys() == {"emergency_housing", "food_clothing"}
        assert form["probation_officer"] == "PO Smith"
        # Drug court tells of substance use too: legal_case alone does not open it.
        assert "drug_court" not in form and "address" not in form and "public_assistance" not in form
        assert withheld == ["benefits", "identity", "mental_health", "substance_use"]

    def test_every_category_serves_the_whole_form(self) -> None:
        everything = {"identity", "housing", "benefits", "legal_case", "substance_use", "mental_health"}
        assert minimum_necessary(FORM, everything) == (FORM, [])

    def test_the_explanation_of_factors_needs_both_health_categories(self) -> None:
        form, _ = minimum_necessary(FORM, {"substance_use"})
        assert form["contributing_factors"] == {"alcohol": False, "drugs": True}
