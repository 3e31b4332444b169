"""Enrolment as the toolkit runs it (issue 10), through the gateway: who is referred, enrolled or not enrolled."""

from __future__ import annotations

from tests.conftest import System
from tests.partner import enrol, hand_off, referral_body

J = "seattle-king-county"


def _participant(system: System, participant_id: str, until: str) -> dict:
    """The project manager's view (the MOU's `referral` permit), once case management has heard the news."""
    pm = system.partner("project_manager")
    reply = pm.wait_for(f"/v1/participants/{participant_id}", lambda r: r.status_code == 200 and until in r.text)
    return reply.json()


class TestNotEnrolled:
    def test_an_offer_declined_leaves_the_person_not_enrolled(self, system: System) -> None:
        police = system.partner("police")
        created = police.post("/v1/referrals", json=referral_body("P-ENR-DECLINE")).json()
        _participant(system, created["participant_id"], "referred")
        declined = police.post(f"/v1/referrals/{created['referral_id']}/decline", json={"reason": "person_declined"})
        assert declined.status_code == 200, declined.text
        seen = _participant(system, created["participant_id"], "not_enrolled")
        assert (seen["enrolment"], seen["not_enrolled_reason"], seen["status"]) == ("not_enrolled", "declined", None)

    def test_a_social_contact_denied_says_where_the_person_was_referred(self, system: System) -> None:
        police, pm = system.partner("police"), system.partner("project_manager")
        body = referral_body("P-ENR-DENIED", referral_type="social_contact")
        created = police.post("/v1/referrals", json=body).json()
        path = f"/v1/referrals/{created['referral_id']}/owg-decision"
        decision = {"decision": "denied", "decided_by": "owg-chair", "reason": "Needs detox first."}
        unnamed = pm.post(path, json=decision)
        assert unnamed.status_code == 422 and unnamed.json()["field"] == "referred_to"
        denied = pm.post(path, json={**decision, "referred_to": "treatment"})
        assert denied.status_code == 200, denied.text
        seen = _participant(system, created["participant_id"], "owg_denied")
        assert (seen["enrolment"], seen["not_enrolled_reason"]) == ("not_enrolled", "owg_denied")
        assert police.get(f"/v1/referrals/{created['referral_id']}").json()["referred_to"] == "treatment"


class TestEnrolled:
    def test_nobody_is_active_before_intake_and_enrolment_makes_them_active(self, system: System) -> None:
        police, cm = system.partner("police"), system.partner("case_management")
        created = police.post("/v1/referrals", json=referral_body("P-ENR-ACTIVE")).json()
        hand_off(police, cm, created)
        before = cm.get(f"/v1/participants/{created['participant_id']}").json()
        assert (before["enrolment"], before["status"]) == ("referred", None)
        refused = cm.post(
            f"/v1/participants/{created['participant_id']}/status", json={"status": "inactive", "reason": "x"}
        )
        assert refused.status_code == 409
        assert enrol(cm, created["participant_id"]).status_code == 200
        after = cm.get(f"/v1/participants/{created['participant_id']}").json()
        assert (after["enrolment"], after["status"]) == ("enrolled", "active")

    def test_a_second_diversion_of_an_enrolled_participant_closes_at_once(self, system: System) -> None:
        police, cm, prosecutor = (system.partner(t) for t in ("police", "case_management", "prosecutor"))
        body = referral_body("P-ENR-AGAIN")
        first = police.post("/v1/referrals", json=body).json()
        hand_off(police, cm, first)
        assert enrol(cm, first["participant_id"]).status_code == 200
        prosecutor.wait_for(
            f"/v1/held-charges/{first['referral_id']}", lambda r: r.json().get("status") == "closed_by_intake"
        )
        again = police.post("/v1/referrals", json=body).json()  # the same agency's own person (its RMS id)
        assert again["participant_id"] == first["participant_id"]
        held = prosecutor.wait_for(
            f"/v1/held-charges/{again['referral_id']}",
            lambda r: r.status_code == 200 and r.json()["status"] != "held",
        )
        assert held.json()["status"] == "closed_participant_enrolled", held.text
        filing = prosecutor.post(
            f"/v1/held-charges/{again['referral_id']}/filing", json={"meets_filing_standards": True}
        )
        assert filing.status_code == 409
