from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from divert_contracts.referral import DiversionOffered, SocialContactReferralSubmitted, WarmHandoffCompleted
from referral.domain.commands import Incident, Officer, Person, SubmitReferral
from referral.domain.eligibility import DivertibleOffense, EligibilityPolicy, default_policy
from referral.domain.errors import IneligibleReferral, NotAReferrer, WrongState
from referral.domain.model import Referral, age_band, receiving_provider

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
POLICY = EligibilityPolicy(
    version=3,
    intake_window_days=30,
    divertible_offenses=(DivertibleOffense("35A", "RCW 69.50.4013", "Drug possession"),),
)
SUBMISSION = SubmitReferral(
    jurisdiction="seattle-king-county",
    referral_type="arrest_diversion",
    referring_agency="seattle-pd",
    person=Person("Alex", "Doe", date(1990, 4, 1), "white", "not_hispanic_or_latino", "male", "P-1"),
    incident=Incident("I-1", ("35A",), datetime(2026, 11, 22, 23, tzinfo=UTC), "3rd Ave"),
    officer=Officer("B-1", "Officer Example"),
)


class TestArrestDiversion:
    def test_offers_diversion_with_the_sites_intake_window(self) -> None:
        referral = Referral.submit("r1", "p1", SUBMISSION, POLICY, NOW)
        [event] = referral.pending
        assert isinstance(event, DiversionOffered)
        assert event.intake_deadline == date(2026, 12, 23)
        assert event.policy_version == 3
        assert referral.status == "offered"

    def test_the_event_is_thin(self) -> None:
        [event] = Referral.submit("r1", "p1", SUBMISSION, POLICY, NOW).pending
        dumped = event.model_dump_json()
        for personal in ("Alex", "Doe", "1990", "3rd Ave", "Officer Example"):
            assert personal not in dumped
        assert event.age_band == "35-44"

    def test_a_santa_fe_window_of_seven_days(self) -> None:
        [event] = Referral.submit("r1", "p1", SUBMISSION, default_policy(7), NOW).pending
        assert event.intake_deadline == date(2026, 11, 30)

    def test_an_incident_in_the_future_is_refused(self) -> None:
        future = replace(
            SUBMISSION, incident=replace(SUBMISSION.incident, occurred_at=datetime(2026, 11, 24, tzinfo=UTC))
        )
        with pytest.raises(IneligibleReferral) as refused:
            Referral.submit("r1", "p1", future, POLICY, NOW)
        assert refused.value.field == "incident.occurred_at"

    def test_an_arrest_diversion_without_an_offense_is_refused(self) -> None:
        no_offense = replace(SUBMISSION, incident=replace(SUBMISSION.incident, offense_codes=()))
        with pytest.raises(IneligibleReferral):
            Referral.submit("r1", "p1", no_offense, POLICY, NOW)


class TestSocialContact:
    def test_carries_no_charge_and_no_intake_clock(self) -> None:
        social = replace(SUBMISSION, referral_type="social_contact")
        referral = Referral.submit("r1", "p1", social, POLICY, NOW)
        [event] = referral.pending
        assert isinstance(event, SocialContactReferralSubmitted)
        assert not hasattr(event, "offense_codes")
        assert referral.intake_deadline is None


@pytest.mark.parametrize(
    ("born", "band"),
    [(date(2009, 11, 24), "under_18"), (date(2008, 11, 23), "18-24"), (date(1950, 1, 1), "65_and_over")],
)
def test_age_band(born: date, band: str) -> None:
    assert age_band(born, date(2026, 11, 23)) == band


class TestEligibility:
    def test_an_offense_the_site_does_not_divert_is_refused_with_the_reason(self) -> None:
        theft = replace(SUBMISSION, incident=replace(SUBMISSION.incident, offense_codes=("35A", "13A")))
        with pytest.raises(IneligibleReferral) as refused:
            Referral.submit("r1", "p1", theft, POLICY, NOW)
        assert "13A is not divertible under policy version 3" in refused.value.detail
        assert refused.value.field == "incident.offense_codes"

    def test_an_exclusion_makes_an_arrest_diversion_ineligible(self) -> None:
        excluded = replace(SUBMISSION, exclusions_present=("sale_above_subsistence",))
        with pytest.raises(IneligibleReferral) as refused:
            Referral.submit("r1", "p1", excluded, POLICY, NOW)
        assert refused.value.field == "exclusions_present"

    def test_social_contact_referrals_are_not_subject_to_exclusions(self) -> None:
        social = replace(SUBMISSION, referral_type="social_contact", exclusions_present=("sale_above_subsistence",))
        assert Referral.submit("r1", "p1", social, POLICY, NOW).status == "submitted"

    def test_who_may_refer_socially_is_site_policy(self) -> None:
        community = replace(
            SUBMISSION,
            referral_type="social_contact",
            referring_agency_type="community",
            person=replace(SUBMISSION.person, rms_person_id=None),
            incident=replace(SUBMISSION.incident, rms_incident_number=None),
            officer=Officer(None, "Outreach worker"),
        )
        with pytest.raises(NotAReferrer):
            Referral.submit("r1", "p1", community, POLICY, NOW)
        open_site = replace(POLICY, social_contact_referrers=frozenset({"police", "community"}))
        assert Referral.submit("r1", "p1", community, open_site, NOW).status == "submitted"


def given(*history: object) -> Referral:
    return Referral.replay("r1", "seattle-king-county", history)  # type: ignore[arg-type,return-value]


class TestLifecycle:
    def test_offered_then_accepted_then_handed_off(self) -> None:
        referral = given(*Referral.submit("r1", "p1", SUBMISSION, POLICY, NOW).pending)
        with pytest.raises(WrongState):
            referral.hand_off("cm-1", "lead-cm", NOW, NOW)  # not before acceptance
        referral.accept(NOW)
        referral.hand_off("cm-1", "lead-cm", NOW, NOW)
        assert referral.status == "handed_off"

    def test_a_declined_offer_cannot_be_handed_off(self) -> None:
        referral = given(*Referral.submit("r1", "p1", SUBMISSION, POLICY, NOW).pending)
        referral.decline(NOW)
        with pytest.raises(WrongState):
            referral.hand_off("cm-1", "lead-cm", NOW, NOW)
        with pytest.raises(WrongState):
            referral.accept(NOW)

    def test_a_social_contact_referral_waits_for_the_owg(self) -> None:
        social = replace(SUBMISSION, referral_type="social_contact")
        referral = given(*Referral.submit("r1", "p1", social, POLICY, NOW).pending)
        with pytest.raises(WrongState):
            referral.hand_off("cm-1", "lead-cm", NOW, NOW)
        referral.owg_decide(True, "sgt-12", NOW)
        referral.hand_off("cm-1", "lead-cm", NOW, NOW)
        with pytest.raises(WrongState):
            given(*Referral.submit("r2", "p1", SUBMISSION, POLICY, NOW).pending).owg_decide(True, "sgt-12", NOW)


def test_where_the_site_requires_it_a_victim_must_decline_prosecution() -> None:
    strict = replace(POLICY, victim_must_decline=True)
    assert strict.screen("arrest_diversion", ["35A"], [], victim_wants_prosecution=True)
    assert not strict.screen("arrest_diversion", ["35A"], [], victim_wants_prosecution=False)
    assert not POLICY.screen("arrest_diversion", ["35A"], [], victim_wants_prosecution=True)


class TestCapacity:
    def test_an_approval_while_the_program_is_full_waits_and_is_released_later(self) -> None:
        social = replace(SUBMISSION, referral_type="social_contact")
        referral = given(*Referral.submit("r1", "p1", social, POLICY, NOW).pending)
        referral.owg_decide(True, "sgt-12", NOW, program_full=True)
        assert referral.status == "waitlisted"
        with pytest.raises(WrongState):
            referral.hand_off("cm-1", "lead-cm", NOW, NOW)
        referral.release(NOW)
        referral.hand_off("cm-1", "lead-cm", NOW, NOW)
        assert referral.status == "handed_off"


class TestTheReceivingProvider:
    """Issue 9, the demo site: the warm hand-off names the provider that will hold the participant."""

    TWO = ("lead-case-management", "evergreen-cm")

    def test_the_hand_off_event_names_the_receiving_provider(self) -> None:
        referral = given(*Referral.submit("r1", "p1", SUBMISSION, POLICY, NOW).pending)
        referral.accept(NOW)
        referral.hand_off("cm-1", "evergreen-cm", NOW, NOW)
        [*_, handed] = referral.pending
        assert isinstance(handed, WarmHandoffCompleted) and handed.case_management_agency == "evergreen-cm"

    def test_where_the_site_has_two_providers_one_must_be_named(self) -> None:
        with pytest.raises(IneligibleReferral) as refused:
            receiving_provider(None, self.TWO)
        assert refused.value.field == "case_management_agency"
        assert receiving_provider("evergreen-cm", self.TWO) == "evergreen-cm"

    def test_a_provider_not_in_the_site_is_refused(self) -> None:
        for providers in (self.TWO, ("lead-case-management",), ()):
            with pytest.raises(IneligibleReferral) as refused:
                receiving_provider("other-cm", providers)
            assert refused.value.field == "case_management_agency"

    def test_the_only_provider_is_the_default(self) -> None:
        assert receiving_provider(None, ("santa-fe-cm",)) == "santa-fe-cm"
        assert receiving_provider("santa-fe-cm", ("santa-fe-cm",)) == "santa-fe-cm"

    def test_a_site_not_in_the_directory_takes_the_named_provider_and_requires_one(self) -> None:
        assert receiving_provider("other-cm", None) == "other-cm"
        with pytest.raises(IneligibleReferral):
            receiving_provider(None, None)
