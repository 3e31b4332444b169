"""Police and case-management work through the gateway, as the toolkit describes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import System
from tests.partner import consent_body, enrol, referral_body, until_created

J = "seattle-king-county"
NOW = datetime.now(UTC)


def screening_form(case_manager: str) -> dict:
    return {
        "screened_at": (NOW - timedelta(minutes=5)).isoformat(),
        "location": "Day center, 2nd Ave",
        "screening_case_manager": case_manager,
        "contributing_factors": {"alcohol": False, "drugs": True, "mental_health": True, "explain": "Uses daily."},
        "gender": "female",
        "race": "black",
        "ethnicity": "not_hispanic_or_latino",
        "veteran": False,
        "homeless": True,
        "slept_last_night": "Doorway on Pike St",
        "where_to_find": "Day center most mornings",
        "employed": False,
        "public_assistance": ["medicaid"],
        "drug_court": False,
        "probation": False,
        "will_sign_roi": True,
        "assistance": {
            "emergency_housing": {"needs": True},
            "substance_abuse_treatment": {"needs": True},
            "help_obtaining_id": {"needs": True, "notes": "Lost wallet"},
        },
        "immediate_actions": "Shelter bed arranged for tonight.",
    }


class TestASocialContactReferral:
    def test_from_submission_through_approval_handoff_screening_intake_and_plan(self, system: System) -> None:
        police, pm, cm = system.partner("police"), system.partner("project_manager"), system.partner("case_management")
        body = referral_body("P-WALK-SOCIAL", referral_type="social_contact")
        created = police.post("/v1/referrals", json=body)
        assert created.status_code == 201, created.text
        referral_id, participant_id = created.json()["referral_id"], created.json()["participant_id"]
        assert created.json()["status"] == "submitted" and created.json()["intake_deadline"] is None

        early = police.post(
            f"/v1/referrals/{referral_id}/handoff",
            json={
                "case_manager_id": "cm-ana",
                "location": "Day center",
                "at": NOW.isoformat(),
                "case_management_agency": "lead-case-management",
            },
        )
        assert early.status_code == 409  # not before the Operations Work Group approves

        approved = pm.post(
            f"/v1/referrals/{referral_id}/owg-decision",
            json={"decision": "approved", "decided_by": "sgt-0912", "reason": "Meets criteria; capacity."},
        )
        assert approved.status_code == 200 and approved.json()["status"] == "approved"

        handed = police.post(
            f"/v1/referrals/{referral_id}/handoff",
            json={
                "case_manager_id": "cm-ana",
                "location": "Day center",
                "at": NOW.isoformat(),
                "case_management_agency": "lead-case-management",
            },
        )
        assert handed.status_code == 200, handed.text

        cm.wait_for(f"/v1/participants/{participant_id}/intake", lambda r: r.status_code == 200)
        loads = cm.wait_for(
            f"/v1/caseloads?jurisdiction={J}",
            lambda r: any(c["case_manager_id"] == "cm-ana" for c in r.json().get("case_managers", [])),
        )
        assert loads.json()["cap"] == 25 and loads.json()["preferred"] == 15

        screened = cm.put_json(f"/v1/participants/{participant_id}/initial-screening", screening_form("cm-ana"))
        assert screened.status_code == 200, screened.text

        intake = enrol(cm, participant_id)
        assert intake.status_code == 200, intake.text
        assert intake.json()["intake_status"] == "completed" and intake.json()["enrolment"] == "enrolled"

        plan = cm.put_json(
            f"/v1/participants/{participant_id}/plan",
            {
                "goals": [
                    {"goal": "Get my ID back", "action_steps": ["Birth certificate request"], "progress": []},
                    {"goal": "Stable housing", "action_steps": ["Coordinated entry assessment"]},
                ]
            },
        )
        assert plan.status_code == 200 and plan.json()["plan_version"] == 1
        again = cm.put_json(
            f"/v1/participants/{participant_id}/plan",
            {
                "goals": [
                    {
                        "goal": "Get my ID back",
                        "progress": [{"on": NOW.date().isoformat(), "note": "Certificate ordered"}],
                    },
                ]
            },
        )
        assert again.json()["plan_version"] == 2
        first = cm.get(f"/v1/participants/{participant_id}/plan", params={"version": "1"})
        assert first.status_code == 200, first.text
        assert len(first.json()["goals"]) == 2  # earlier versions are kept

        contact = cm.post(
            f"/v1/participants/{participant_id}/contacts",
            json={
                "occurred_on": NOW.date().isoformat(),
                "kind": "street",
                "staff_id": "cm-ana",
                "notes": "Walked to the clinic together.",
            },
        )
        assert contact.status_code == 201
        assert cm.get(f"/v1/participants/{participant_id}/contacts").json()["counts"] == {"street": 1}
        # No charge was ever held for a social contact.
        assert system.partner("prosecutor").get(f"/v1/held-charges/{referral_id}").status_code == 404

    def test_other_agencies_read_the_screening_only_in_part_and_only_with_a_permit(self, system: System) -> None:
        police, cm, prosecutor = (system.partner(t) for t in ("police", "case_management", "prosecutor"))
        created = police.post("/v1/referrals", json=referral_body("P-WALK-PART")).json()
        participant_id, referral_id = created["participant_id"], created["referral_id"]
        # The provider named in the hand-off holds the participant's records; until then no provider does.
        assert police.post(f"/v1/referrals/{referral_id}/acceptance").status_code == 200
        handed = police.post(
            f"/v1/referrals/{referral_id}/handoff",
            json={
                "case_manager_id": "cm-ben",
                "location": "Precinct",
                "at": NOW.isoformat(),
                "case_management_agency": "lead-case-management",
            },
        )
        assert handed.status_code == 200, handed.text
        cm.wait_for(f"/v1/participants/{participant_id}/intake", lambda r: r.status_code == 200)
        assert (
            cm.put_json(f"/v1/participants/{participant_id}/initial-screening", screening_form("cm-ben")).status_code
            == 200
        )
        path = f"/v1/participants/{participant_id}/initial-screening"
        assert prosecutor.get(path).status_code == 403
        consent = consent_body(participant_id)
        consent["grants"][0]["categories"] = ["screening", "housing", "substance_use"]
        # The consent service hears of the hand-off on its own time: retry until it knows who holds the person.
        assert until_created(lambda: cm.post("/v1/consents", json=consent)).status_code == 201
        seen = prosecutor.get(path)
        assert seen.status_code == 200, seen.text
        form = seen.json()["form"]
        # Minimum necessary: each field only with its own category (Part 2 never to a prosecutor).
        assert "drugs" not in form["contributing_factors"] and "mental_health" not in form["contributing_factors"]
        assert "substance_abuse_treatment" not in form["assistance"]
        assert "where_to_find" not in form and "public_assistance" not in form and "probation" not in form
        assert set(seen.json()["withheld"]) == {
            "substance_use",
            "mental_health",
            "identity",
            "benefits",
            "legal_case",
        }
        assert form["homeless"] is True and form["slept_last_night"] == "Doorway on Pike St"


class TestTheOffersLife:
    def test_a_declined_offer_returns_the_charge_to_ordinary_processing(self, system: System) -> None:
        police, prosecutor = system.partner("police"), system.partner("prosecutor")
        created = police.post("/v1/referrals", json=referral_body("P-WALK-DECLINE")).json()
        prosecutor.wait_for(f"/v1/held-charges/{created['referral_id']}", lambda r: r.status_code == 200)
        declined = police.post(f"/v1/referrals/{created['referral_id']}/decline", json={"reason": "person_declined"})
        assert declined.status_code == 200 and declined.json()["status"] == "declined"
        back = prosecutor.wait_for(f"/v1/held-charges/{created['referral_id']}", lambda r: r.json()["status"] != "held")
        assert back.json()["status"] == "returned_to_ordinary_processing"

    def test_the_site_policy_decides_eligibility_with_every_reason(self, system: System) -> None:
        pm, police = system.partner("project_manager"), system.partner("police")
        presets = pm.get("/v1/eligibility-presets").json()
        assert set(presets) >= {"toolkit-example-1", "toolkit-example-2", "king-county-30-day", "santa-fe-7-day"}
        other = "santa-fe"
        # The demo clients serve one jurisdiction: another site's policy is refused to them.
        preset = {k: v for k, v in presets["santa-fe-7-day"].items() if k != "description"}
        assert pm.put_json(f"/v1/jurisdictions/{other}/eligibility-policy", preset).status_code == 403
        screening = police.post(
            "/v1/screenings",
            json={
                "jurisdiction": J,
                "referral_type": "arrest_diversion",
                "offense_codes": ["35A"],
                "exclusions_present": ["sale_above_subsistence"],
            },
        )
        assert screening.status_code == 200
        assert screening.json()["eligible"] is False
        assert screening.json()["reasons"] == ["exclusion applies: sale_above_subsistence"]
        refused = police.post(
            "/v1/referrals", json=referral_body("P-WALK-EXCL", exclusions_present=["unable_to_consent"])
        )
        assert refused.status_code == 422 and refused.json()["field"] == "exclusions_present"
        discretion = police.post(
            "/v1/discretion-records",
            json={
                "jurisdiction": J,
                "offense_codes": ["35A"],
                "reason": "officer_judgment",
                "officer_badge": "B-4411",
                "race": "white",
                "ethnicity": "not_hispanic_or_latino",
                "gender": "male",
                "age_band": "25-34",
            },
        )
        assert discretion.status_code == 201


class TestTheOperationsWorkGroup:
    def test_the_agenda_shows_each_row_only_through_a_decision(self, system: System) -> None:
        police, pm = system.partner("police"), system.partner("project_manager")
        created = police.post("/v1/referrals", json=referral_body("P-OWG-1", referral_type="social_contact")).json()
        tomorrow = (NOW + timedelta(days=1)).date().isoformat()
        params = {"jurisdiction": J, "date": tomorrow}

        def mine(agenda: dict) -> dict | None:
            return next((r for r in agenda["new_referrals"] if r["referral_id"] == created["referral_id"]), None)

        as_police = mine(police.get("/v1/owg/agenda", params=params).json())
        assert as_police is not None  # the referring agency's own record
        assert as_police["last_name"] == "Doe P-OWG-1" and "date_of_birth" in as_police
        # The site's MOU gives the project manager identity and referral, to run the OWG (once the consent
        # service has heard of the referral: events travel asynchronously).
        pm.wait_for("/v1/owg/agenda", lambda r: mine(r.json()) is not None, params=params)
        pm_view = pm.get("/v1/owg/agenda", params=params).json()
        assert mine(pm_view) is not None and mine(pm_view)["last_name"] == "Doe P-OWG-1"
        assert mine(pm_view)["race"] == "white" and mine(pm_view)["referral_type"] == "social_contact"
        assert pm_view["columns"]["last_name"] == "identity"
        # Nobody else has a decision for a person only referred, who signed nothing.
        for other in ("kc-sheriff", "kc-prosecutor", "evergreen-cm", "lead-case-management"):
            assert mine(system.agency(other).get("/v1/owg/agenda", params=params).json()) is None, other

        page = pm.get("/v1/owg/agenda", params=params, headers={"Accept": "text/html"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Operations Work Group" in page.text and "Doe P-OWG-1" in page.text
        sheriff_page = system.agency("kc-sheriff").get("/v1/owg/agenda", params=params, headers={"Accept": "text/html"})
        assert sheriff_page.status_code == 200 and "Doe P-OWG-1" not in sheriff_page.text

    def test_the_roster_names_the_category_of_each_column(self, system: System) -> None:
        roster = system.partner("police").get("/v1/owg/roster", params={"jurisdiction": J})
        assert roster.status_code == 200
        assert roster.json()["columns"]["intake_completed"] == "assessment"
        assert all("participant_id" in p for p in roster.json()["participants"])
        assert system.partner("auditor").get("/v1/owg/roster", params={"jurisdiction": J}).status_code == 403
