from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from divert_contracts.referral import DiversionOffered, SocialContactReferralSubmitted
from referral.domain.commands import Incident, Officer, Person, SubmitReferral
from referral.domain.errors import IneligibleReferral
from referral.domain.model import Referral, SitePolicy, age_band

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
POLICY = SitePolicy(version=3, intake_window_days=30)
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
        [event] = Referral.submit("r1", "p1", SUBMISSION, SitePolicy(1, 7), NOW).pending
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
