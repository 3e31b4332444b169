"""What the evaluation counts from: screenings carry demographic codes, referrals an officer's unit, and old
events without them still read."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from divert_contracts.referral import ContactScreened, DiversionOffered
from referral.domain.commands import Incident, Officer, Person, Screen, SubmitReferral
from referral.domain.eligibility import DivertibleOffense, EligibilityPolicy
from referral.domain.model import Referral
from referral.domain.records import Screening
from referral.entrypoints.policy import ScreeningIn
from referral.entrypoints.schemas import OfficerIn

NOW = datetime(2026, 10, 5, 12, tzinfo=UTC)
POLICY = EligibilityPolicy(
    version=1, intake_window_days=30, divertible_offenses=(DivertibleOffense("35A", "RCW 69.50.4013", "Drugs"),)
)


class TestScreeningsCarryCategoryCodes:
    def test_the_codes_given_reach_the_event_and_nothing_else(self) -> None:
        body = ScreeningIn(
            jurisdiction="seattle-king-county",
            referral_type="arrest_diversion",
            offense_codes=["35A"],
            race="black",
            ethnicity="not_hispanic_or_latino",
            age_band="25-34",
        )
        cmd = Screen(body.jurisdiction, body.referral_type, ("35A",), (), demographics=body.demographics())
        [event] = Screening.record("s1", cmd, POLICY, NOW).pending
        assert isinstance(event, ContactScreened)
        assert (event.race, event.ethnicity, event.gender, event.age_band) == (
            "black",
            "not_hispanic_or_latino",
            None,
            "25-34",
        )

    def test_a_birth_date_or_a_name_is_refused_at_the_door(self) -> None:
        base = {"jurisdiction": "seattle-king-county", "referral_type": "arrest_diversion"}
        for extra in ({"date_of_birth": "1990-01-01"}, {"first_name": "Alex"}, {"race": "Martian"}):
            with pytest.raises(ValidationError):
                ScreeningIn(**base, **extra)

    def test_a_screening_recorded_before_demographics_still_reads(self) -> None:
        old = {
            "screening_id": "s0",
            "referral_type": "social_contact",
            "offense_codes": [],
            "exclusions_present": [],
            "eligible": True,
            "reasons": [],
            "policy_version": 1,
            "screened_at": NOW.isoformat(),
        }
        assert ContactScreened.model_validate(old).race is None


class TestReferralsCarryTheOfficersUnit:
    def submission(self, unit: str | None) -> SubmitReferral:
        return SubmitReferral(
            jurisdiction="seattle-king-county",
            referral_type="arrest_diversion",
            referring_agency="seattle-pd",
            person=Person("Alex", "Doe", date(1990, 4, 1), "white", "not_hispanic_or_latino", "male", "P-1"),
            incident=Incident("I-1", ("35A",), datetime(2026, 10, 4, tzinfo=UTC), "3rd Ave"),
            officer=Officer("B-1", "Officer Example", unit),
        )

    def test_the_unit_code_is_on_the_offer(self) -> None:
        [event] = Referral.submit("r1", "p1", self.submission("west-precinct"), POLICY, NOW).pending
        assert isinstance(event, DiversionOffered) and event.officer_unit == "west-precinct"

    def test_no_unit_is_none(self) -> None:
        [event] = Referral.submit("r1", "p1", self.submission(None), POLICY, NOW).pending
        assert event.officer_unit is None

    def test_a_unit_is_a_code_not_free_text(self) -> None:
        with pytest.raises(ValidationError) as refused:
            OfficerIn(badge_number="B-1", name="Officer Example", unit="West Precinct, 2nd floor")
        assert refused.value.errors()[0]["loc"] == ("unit",)

    @pytest.mark.parametrize("code", ["total", "no_unit", "TOTAL"])
    def test_the_per_unit_views_own_row_names_are_refused_as_unit_codes(self, code: str) -> None:
        # The per-unit view has a `total` row and a `no_unit` row: a unit so coded would merge into one of them.
        with pytest.raises(ValidationError) as refused:
            OfficerIn(badge_number="B-1", name="Officer Example", unit=code)
        assert refused.value.errors()[0]["loc"] == ("unit",)
        assert "reserved" in refused.value.errors()[0]["msg"]
