"""Issue 10, referral side: rules as given events, when a command, then events (no I/O)."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from divert_contracts.referral import (
    EligibilityPolicyAmended,
    ParticipantsLinked,
    SocialContactReferralDenied,
    SocialContactReferralSubmitted,
)
from referral.domain.commands import AmendPolicy, Incident, Officer, Person, SubmitReferral
from referral.domain.eligibility import DivertibleOffense, EligibilityPolicy
from referral.domain.enrolment import enrolment_of
from referral.domain.errors import IneligibleReferral, NotAReferrer, WrongState
from referral.domain.linking import Indexed, PersonLink
from referral.domain.model import Referral
from referral.domain.records import PolicyBook, policy_from_document
from referral.domain.settings import SiteSettings

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
SOCIAL = replace(SUBMISSION, referral_type="social_contact")
COMMUNITY = replace(
    SOCIAL,
    referring_agency="downtown-community",
    referring_agency_type="community",
    person=replace(SUBMISSION.person, rms_person_id=None),
    incident=replace(SUBMISSION.incident, rms_incident_number=None),
    officer=Officer(None, "Outreach worker"),
)
OPEN = replace(POLICY, social_contact_referrers=frozenset({"police", "community"}))


def submitted(cmd: SubmitReferral = SOCIAL, policy: EligibilityPolicy = POLICY) -> Referral:
    history = Referral.submit("r1", "p1", cmd, policy, NOW).pending
    return Referral.replay("r1", "seattle-king-county", history)  # type: ignore[return-value]


class TestAnOwgDenialSaysWhereThePersonWent:
    def test_a_denial_without_referred_to_is_refused_naming_it(self) -> None:
        referral = submitted()
        with pytest.raises(IneligibleReferral) as refused:
            referral.owg_decide(False, "sgt-1", NOW)
        assert refused.value.field == "referred_to" and not referral.pending

    def test_an_approval_with_referred_to_is_refused(self) -> None:
        with pytest.raises(IneligibleReferral) as refused:
            submitted().owg_decide(True, "sgt-1", NOW, referred_to="shelter")
        assert refused.value.field == "referred_to"

    def test_the_denial_event_carries_where_the_person_was_referred(self) -> None:
        referral = submitted()
        referral.owg_decide(False, "sgt-1", NOW, referred_to="treatment")
        [denied] = referral.pending
        assert isinstance(denied, SocialContactReferralDenied) and denied.referred_to == "treatment"
        assert referral.status == "denied"


class TestSocialContactsAreScreenedWithoutTheExclusions:
    def test_the_behaviour_must_be_one_the_site_diverts(self) -> None:
        other = replace(SOCIAL, incident=replace(SOCIAL.incident, offense_codes=("13A",)))
        with pytest.raises(IneligibleReferral) as refused:
            Referral.submit("r1", "p1", other, POLICY, NOW)
        assert refused.value.field == "incident.offense_codes"
        assert POLICY.screen("social_contact", ["13A"], [])

    def test_a_social_contact_names_its_behaviour(self) -> None:
        assert POLICY.screen("social_contact", [], [])

    def test_exclusions_are_not_applied(self) -> None:
        assert not POLICY.screen("social_contact", ["35A"], ["sale_above_subsistence", "unable_to_consent"])
        assert POLICY.screen("arrest_diversion", ["35A"], ["sale_above_subsistence"])

    def test_a_referrer_may_be_named_by_agency_id(self) -> None:
        one_partner = replace(POLICY, social_contact_referrers=frozenset({"police", "downtown-community"}))
        assert Referral.submit("r1", "p1", COMMUNITY, one_partner, NOW).status == "submitted"
        with pytest.raises(NotAReferrer):
            Referral.submit("r1", "p1", replace(COMMUNITY, referring_agency="other-community"), one_partner, NOW)


class TestCommunityReferrersHaveNoPoliceFields:
    def test_a_community_referral_carries_no_badge_or_rms_ids(self) -> None:
        [event] = Referral.submit("r1", "p1", COMMUNITY, OPEN, NOW).pending
        assert isinstance(event, SocialContactReferralSubmitted) and event.officer_badge is None
        assert "rms" not in event.model_dump_json().lower()

    @pytest.mark.parametrize(
        ("field", "given"),
        [
            ("person.rms_person_id", lambda c: replace(c, person=replace(c.person, rms_person_id="P-1"))),
            (
                "incident.rms_incident_number",
                lambda c: replace(c, incident=replace(c.incident, rms_incident_number="I")),
            ),
            ("officer.badge_number", lambda c: replace(c, officer=Officer("B-1", "x"))),
        ],
    )
    def test_a_police_field_from_a_community_referrer_is_refused_by_name(self, field: str, given: object) -> None:
        with pytest.raises(IneligibleReferral) as refused:
            Referral.submit("r1", "p1", given(COMMUNITY), OPEN, NOW)  # type: ignore[operator]
        assert refused.value.field == field

    def test_a_police_referral_without_its_badge_is_refused_by_name(self) -> None:
        with pytest.raises(IneligibleReferral) as refused:
            Referral.submit("r1", "p1", replace(SUBMISSION, officer=Officer(None, "x")), POLICY, NOW)
        assert refused.value.field == "officer.badge_number"


class TestSiteSettings:
    def test_the_intake_deadline_is_the_sites_calendar_date(self) -> None:
        evening_in_seattle = datetime(2026, 11, 24, 3, tzinfo=UTC)  # 19:00 on the 23rd in Seattle
        seattle = replace(POLICY, settings=SiteSettings(time_zone="America/Los_Angeles"))
        [offered] = Referral.submit("r1", "p1", SUBMISSION, seattle, evening_in_seattle).pending
        assert offered.intake_deadline == date(2026, 11, 23) + timedelta(days=30)  # type: ignore[attr-defined]
        utc = replace(POLICY, settings=SiteSettings(time_zone="UTC"))  # computing with UTC still works
        [offered] = Referral.submit("r1", "p1", SUBMISSION, utc, evening_in_seattle).pending
        assert offered.intake_deadline == date(2026, 11, 24) + timedelta(days=30)  # type: ignore[attr-defined]

    def test_an_amendment_publishes_the_settings(self) -> None:
        settings = SiteSettings(time_zone="America/Denver", caseload_cap=20, drug_quantity_threshold="1 g")
        cmd = AmendPolicy("santa-fe", (("35A", "NMSA", "x"),), (), 7, ("police",), False, "pm", settings)
        amended = PolicyBook("santa-fe").amend(cmd, NOW)
        assert isinstance(amended, EligibilityPolicyAmended)
        assert (amended.time_zone, amended.caseload_cap, amended.drug_quantity_threshold) == (
            "America/Denver",
            20,
            "1 g",
        )

    @pytest.mark.parametrize(
        ("settings", "field"),
        [
            (SiteSettings(time_zone="Mars/Olympus"), "time_zone"),
            (SiteSettings(time_zone="../etc/passwd"), "time_zone"),
            # Found from outside: the host's own zone, and zones that are no place, were accepted.
            (SiteSettings(time_zone="localtime"), "time_zone"),
            (SiteSettings(time_zone="Factory"), "time_zone"),
            (SiteSettings(caseload_cap=10, caseload_preferred=15), "caseload_preferred"),
            (SiteSettings(intake_extension_max_days=100), "intake_extension_max_days"),
        ],
    )
    def test_a_bad_setting_is_refused_by_name_and_records_nothing(self, settings: SiteSettings, field: str) -> None:
        book = PolicyBook("santa-fe")
        cmd = AmendPolicy("santa-fe", (("35A", "NMSA", "x"),), (), 7, ("police",), False, "pm", settings)
        with pytest.raises(IneligibleReferral) as refused:
            book.amend(cmd, NOW)
        assert refused.value.field == field and not book.pending

    def test_a_version_stored_before_settings_has_the_defaults(self) -> None:
        old = {
            "policy_version": 1,
            "intake_window_days": 30,
            "divertible_offenses": [],
            "exclusions": [],
            "social_contact_referrers": ["police"],
            "victim_must_decline": False,
        }
        assert policy_from_document(old).settings == SiteSettings()
        assert policy_from_document(old, "America/Denver").settings.time_zone == "America/Denver"


class TestPersonMatchesResolve:
    EARLIER = Indexed("b-participant", datetime(2026, 1, 1, tzinfo=UTC))
    LATER = Indexed("a-participant", datetime(2026, 11, 1, tzinfo=UTC))

    def test_the_participant_indexed_first_survives(self) -> None:
        link = PersonLink("rev-1", "seattle-king-county")
        linked = link.link(self.LATER, self.EARLIER, NOW)
        assert isinstance(linked, ParticipantsLinked)
        assert (linked.survivor_participant_id, linked.merged_participant_id) == ("b-participant", "a-participant")

    def test_a_review_links_once(self) -> None:
        link = PersonLink.replay(
            "rev-1", "seattle-king-county", [PersonLink("rev-1", "s").link(self.LATER, self.EARLIER, NOW)]
        )
        with pytest.raises(WrongState):
            link.link(self.LATER, self.EARLIER, NOW)  # type: ignore[attr-defined]

    def test_one_participant_cannot_be_linked_to_itself(self) -> None:
        with pytest.raises(IneligibleReferral):
            PersonLink("rev-1", "s").link(self.EARLIER, self.EARLIER, NOW)


class TestEnrolmentAsThisServiceSeesIt:
    def test_case_managements_word_wins(self) -> None:
        assert enrolment_of(
            [{"enrolment": "not_enrolled", "not_enrolled_reason": "intake_lapsed", "status": "accepted"}]
        ) == (
            "not_enrolled",
            "intake_lapsed",
        )

    def test_before_case_management_reports_the_referral_says(self) -> None:
        assert enrolment_of([{"status": "offered"}]) == ("referred", None)
        assert enrolment_of([{"status": "declined"}]) == ("not_enrolled", "declined")
        assert enrolment_of([{"status": "denied"}]) == ("not_enrolled", "owg_denied")
        assert enrolment_of([{"status": "offered"}, {"status": "handed_off", "intake_completed_at": NOW}]) == (
            "enrolled",
            None,
        )
