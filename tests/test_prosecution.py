"""The prosecutor's work through the gateway: non-coercion under every role, extensions, a case reviewed."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from tests.conftest import System
from tests.partner import enrol, hand_off, referral_body

J = "seattle-king-county"
ROLES = ["police", "case_management", "prosecutor", "project_manager", "auditor"]


@pytest.fixture(scope="module")
def closed_by_intake(system: System) -> str:
    created = system.partner("police").post("/v1/referrals", json=referral_body("P-PROS-CLOSED")).json()
    prosecutor, cm = system.partner("prosecutor"), system.partner("case_management")
    prosecutor.wait_for(f"/v1/held-charges/{created['referral_id']}", lambda r: r.status_code == 200)
    hand_off(system.partner("police"), cm, created)
    enrolled = enrol(cm, created["participant_id"])
    assert enrolled.status_code == 200, enrolled.text
    prosecutor.wait_for(
        f"/v1/held-charges/{created['referral_id']}", lambda r: r.json()["status"] == "closed_by_intake"
    )
    return created["referral_id"]


class TestNonCoercion:
    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("action", ["filing", "non-filing", "abeyance", "reopening"])
    def test_after_intake_the_charge_is_closed_for_good_whoever_asks(
        self, system: System, closed_by_intake: str, role: str, action: str
    ) -> None:
        body = {"meets_filing_standards": True} if action == "filing" else None
        reply = system.partner(role).post(f"/v1/held-charges/{closed_by_intake}/{action}", json=body)
        assert reply.status_code == 409, reply.text
        assert "intake" in reply.json()["detail"]
        status = system.partner("prosecutor").get(f"/v1/held-charges/{closed_by_intake}").json()["status"]
        assert status == "closed_by_intake"


class TestExtensions:
    def test_an_owg_extension_moves_the_held_charges_deadline(self, system: System) -> None:
        created = system.partner("police").post("/v1/referrals", json=referral_body("P-PROS-EXT")).json()
        prosecutor, pm = system.partner("prosecutor"), system.partner("project_manager")
        held = prosecutor.wait_for(f"/v1/held-charges/{created['referral_id']}", lambda r: r.status_code == 200).json()
        later = (date.fromisoformat(held["intake_deadline"]) + timedelta(days=14)).isoformat()
        extension = {
            "intake_deadline": later,
            "law_enforcement_agency": "seattle-pd",
            "law_enforcement_agreed": True,
            "reason": "Hospitalised; the OWG agreed two more weeks.",
        }
        path = f"/v1/participants/{created['participant_id']}/intake-extension"
        extended = pm.post(path, json=extension)
        for _ in range(100):
            if extended.status_code != 404:
                break
            time.sleep(0.05)
            extended = pm.post(path, json=extension)
        assert extended.status_code == 200, extended.text
        moved = prosecutor.wait_for(
            f"/v1/held-charges/{created['referral_id']}", lambda r: r.json()["intake_deadline"] == later
        )
        assert moved.json()["status"] == "held"


class TestAPostDiversionArrest:
    def test_is_registered_reviewed_dismissed_and_shows_in_the_queue_until_then(self, system: System) -> None:
        created = system.partner("police").post("/v1/referrals", json=referral_body("P-PROS-CASE")).json()
        prosecutor = system.partner("prosecutor")
        prosecutor.wait_for(f"/v1/held-charges/{created['referral_id']}", lambda r: r.status_code == 200)
        case = prosecutor.post(
            "/v1/cases",
            json={
                "participant_id": created["participant_id"],
                "jurisdiction": J,
                "kind": "post_diversion",
                "docket_number": "26-1-09999-1 SEA",
                "court": "Seattle Municipal Court",
                "charges": [{"code": "90J", "description": "Trespass"}],
                "filed_at": "2026-11-21",
            },
        )
        assert case.status_code == 201, case.text
        case_id = case.json()["case_id"]
        queue = prosecutor.get("/v1/prosecution/queue", params={"jurisdiction": J, "limit": "200"}).json()
        assert ("case_awaiting_review", case_id) in {(i["kind"], i["id"]) for i in queue["items"]}

        reviewed = prosecutor.post(
            f"/v1/cases/{case_id}/reviews",
            json={
                "decision": "dismiss_without_prejudice",
                "rationale": "Engaged with the intervention plan; housing secured.",
            },
        )
        assert reviewed.status_code == 201, reviewed.text
        assert reviewed.json()["status"] == "dismissed"
        assert reviewed.json()["reviews"][0]["decision"] == "dismiss_without_prejudice"
        queue = prosecutor.get("/v1/prosecution/queue", params={"jurisdiction": J, "limit": "200"}).json()
        assert ("case_awaiting_review", case_id) not in {(i["kind"], i["id"]) for i in queue["items"]}
