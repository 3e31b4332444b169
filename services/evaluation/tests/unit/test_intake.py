"""Every event the evaluation subscribes to leaves the fact the counting code expects, with codes only."""

from __future__ import annotations

from datetime import UTC, date, datetime

from divert_contracts import casemgmt, prosecution, referral
from evaluation.domain.facts import assemble
from evaluation.domain.intake import FACTS, facts_of

AT = datetime(2026, 10, 6, 12, tzinfo=UTC)
IDS = {"referral_id": "r1", "participant_id": "p1"}
EVENTS = [
    ("referral", referral.DiversionAccepted(**IDS, accepted_at=AT)),
    ("referral", referral.DiversionDeclined(**IDS, declined_at=AT)),
    ("referral", referral.SocialContactReferralApproved(**IDS, decided_by="owg", decided_at=AT)),
    ("referral", referral.SocialContactReferralDenied(**IDS, decided_by="owg", decided_at=AT, referred_to="shelter")),
    ("referral", referral.WarmHandoffCompleted(**IDS, case_manager_id="cm", completed_at=AT)),
    (
        "referral",
        referral.ParticipantsLinked(
            review_id="v", survivor_participant_id="p1", merged_participant_id="p2", linked_at=AT
        ),
    ),
    (
        "casemgmt",
        casemgmt.ParticipantStatusChanged(participant_id="p1", status="inactive", reason="moved", changed_at=AT),
    ),
    (
        "casemgmt",
        casemgmt.IntakeDeadlineExtended(
            participant_id="p1",
            referral_ids=["r1", "r2"],
            intake_deadline=date(2026, 12, 1),
            granted_by="owg",
            law_enforcement_agency="seattle-pd",
            extended_at=AT,
        ),
    ),
    ("prosecution", prosecution.IntakeDeadlineLapsed(**IDS, intake_deadline=date(2026, 11, 5), lapsed_at=AT)),
    ("prosecution", prosecution.HeldChargeFiled(**IDS, meets_filing_standards=True, filed_at=AT)),
    ("prosecution", prosecution.HeldChargeDeadlineMoved(**IDS, intake_deadline=date(2026, 12, 1), moved_at=AT)),
]


def test_each_subscribed_event_leaves_a_fact_without_free_text() -> None:
    covered = set()
    for service, event in EVENTS:
        [first, *_rest] = facts_of(service, event.type_name(), event)
        covered.add((service, event.type_name()))
        assert first.at == AT
        assert "moved" not in str(first.data)  # the status reason is free text: never kept
    assert len(facts_of("casemgmt", "IntakeDeadlineExtended", EVENTS[7][1])) == 2
    mapped = {(s, t) for s, types in FACTS.items() for t in types}
    untested = mapped - covered - {("referral", t) for t in ("ContactScreened", "EligibleContactNotDiverted")}
    assert (
        untested
        - {
            ("referral", "DiversionOffered"),
            ("referral", "SocialContactReferralSubmitted"),
            ("casemgmt", "IntakeCompleted"),
        }
        == set()
    )


def test_a_merged_record_reads_as_its_survivor() -> None:
    from evaluation.domain.facts import Fact

    offer = {"race": "white", "referral_type": "arrest_diversion"}
    facts = [
        Fact("referred", "r1", AT, "p1", offer),
        Fact("referred", "r2", AT.replace(day=20), "p2", offer),
        Fact("linked", "v", AT.replace(day=25), None, {"survivor": "p1", "merged": "p2"}),
    ]
    _, paths = assemble(facts)
    assert {p.participant_id for p in paths} == {"p1"}
    assert [p.re_referral for p in sorted(paths, key=lambda p: p.referred_at)] == [False, True]
