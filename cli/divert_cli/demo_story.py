"""The demo seed's story, step by step: each step one partner call (or a few), returning what later steps need.

The request bodies are the public API's (the same shapes as tests/partner.py). Times are relative to the seed's
own clock, fixed at its first run, so a resumed run sends byte-identical bodies under the same keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

Steps = dict[str, Any]


@dataclass(frozen=True)
class Story:
    agencies: dict[str, Any]  # agency id -> divert_cli.demo.Agency
    jurisdiction: str
    now: datetime

    def at(self, **delta: float) -> str:
        return (self.now + timedelta(**delta)).isoformat()


def _referral(story: Story, rms_person_id: str, last_name: str, referral_type: str) -> dict[str, Any]:
    return {
        "jurisdiction": story.jurisdiction,
        "referral_type": referral_type,
        "person": {
            "first_name": "Demo",
            "last_name": last_name,
            "date_of_birth": "1988-06-15",
            "race": "white",
            "ethnicity": "not_hispanic_or_latino",
            "gender": "female",
            "rms_person_id": rms_person_id,
        },
        "incident": {
            "rms_incident_number": f"DEMO-{rms_person_id[-1]}",
            "offense_codes": ["35A"],
            "occurred_at": story.at(days=-1),
            "location": "3rd Ave & Pine St",
        },
        "officer": {"badge_number": "B-DEMO", "name": "Officer Demo"},
    }


def refer(agency: str, rms_person_id: str, last_name: str, referral_type: str) -> Callable[[Story, Steps], Steps]:
    def step(story: Story, steps: Steps) -> Steps:
        body = _referral(story, rms_person_id, last_name, referral_type)
        created = story.agencies[agency].send("POST", "/v1/referrals", body, key=f"refer-{rms_person_id}")
        return {"referral_id": created["referral_id"], "participant_id": created["participant_id"]}

    return step


def accept(referral: str) -> Callable[[Story, Steps], Steps]:
    def step(story: Story, steps: Steps) -> Steps:
        path = f"/v1/referrals/{steps[referral]['referral_id']}/acceptance"
        return {"status": story.agencies["seattle-pd"].send("POST", path, {}, key=f"accept-{referral}")["status"]}

    return step


def owg_approval(referral: str) -> Callable[[Story, Steps], Steps]:
    def step(story: Story, steps: Steps) -> Steps:
        path = f"/v1/referrals/{steps[referral]['referral_id']}/owg-decision"
        body = {"decision": "approved", "decided_by": "owg-demo", "reason": "Meets the criteria; capacity."}
        return {
            "status": story.agencies["lead-project-manager"].send("POST", path, body, key=f"owg-{referral}")["status"]
        }

    return step


def hand_off(referral: str, police: str, provider: str) -> Callable[[Story, Steps], Steps]:
    def step(story: Story, steps: Steps) -> Steps:
        path = f"/v1/referrals/{steps[referral]['referral_id']}/handoff"
        body = {
            "case_manager_id": "cm-demo",
            "location": "Day center",
            "at": story.at(minutes=-30),
            "case_management_agency": provider,
        }
        story.agencies[police].send("POST", path, body, key=f"handoff-{referral}")
        # The provider holds the participant once case management has heard of the hand-off.
        story.agencies[provider].wait(f"/v1/participants/{steps[referral]['participant_id']}/intake")
        return {"provider": provider}

    return step


def roi(referral: str, provider: str) -> Callable[[Story, Steps], Steps]:
    def step(story: Story, steps: Steps) -> Steps:
        recipients = {provider: ["care_coordination"], "kc-prosecutor": ["diversion_monitoring"]}
        body = {
            "participant_id": steps[referral]["participant_id"],
            "jurisdiction": story.jurisdiction,
            "grants": [
                {"recipient_agency": agency, "categories": ["referral", "assessment", "contacts"], "purposes": p}
                for agency, p in recipients.items()
            ],
            "effective_at": story.at(days=-1),
            "expires_at": story.at(days=365),
            "signed_document_sha256": "de" * 32,
        }
        created = story.agencies[provider].send("POST", "/v1/consents", body, key=f"roi-{referral}", retry_403=True)
        return {"consent_id": created["consent_id"]}

    return step


def intake(referral: str, provider: str) -> Callable[[Story, Steps], Steps]:
    def step(story: Story, steps: Steps) -> Steps:
        body = {
            "completed_at": story.at(minutes=-10),
            "consent_to_participate": {"signed_at": story.at(minutes=-20), "signed_document_sha256": "0d" * 32},
        }
        path = f"/v1/participants/{steps[referral]['participant_id']}/intake"
        story.agencies[provider].send("POST", path, body, key=f"intake-{referral}", retry_403=True)
        return {"completed_at": body["completed_at"]}

    return step


def contact(referral: str, provider: str, kind: str, days_ago: int) -> Callable[[Story, Steps], Steps]:
    def step(story: Story, steps: Steps) -> Steps:
        body = {
            "occurred_on": (story.now - timedelta(days=days_ago)).date().isoformat(),
            "kind": kind,
            "staff_id": "cm-demo",
            "notes": "Demo contact.",
        }
        path = f"/v1/participants/{steps[referral]['participant_id']}/contacts"
        return story.agencies[provider].send("POST", path, body, key=f"contact-{referral}-{kind}")

    return step


def legacy_case(referral: str) -> Callable[[Story, Steps], Steps]:
    def step(story: Story, steps: Steps) -> Steps:
        prosecutor = story.agencies["kc-prosecutor"]
        prosecutor.wait(f"/v1/held-charges/{steps[referral]['referral_id']}")
        body = {
            "participant_id": steps[referral]["participant_id"],
            "jurisdiction": story.jurisdiction,
            "kind": "legacy",
            "docket_number": "26-1-DEMO-1 SEA",
            "court": "Seattle Municipal Court",
            "charges": [{"code": "90J", "description": "Trespass"}],
            "filed_at": (story.now - timedelta(days=60)).date().isoformat(),
        }
        return {"case_id": prosecutor.send("POST", "/v1/cases", body, key=f"case-{referral}")["case_id"]}

    return step


def court_date(case_step: str) -> Callable[[Story, Steps], Steps]:
    def step(story: Story, steps: Steps) -> Steps:
        path = f"/v1/cases/{steps[case_step]['case_id']}/court-dates"
        body = {"scheduled_for": story.at(days=14), "hearing": "review"}
        story.agencies["kc-prosecutor"].send("POST", path, body, key=f"court-date-{case_step}")
        return {"scheduled_for": body["scheduled_for"]}

    return step


STEPS: list[tuple[str, Callable[[Story, Steps], Steps]]] = [
    ("refer-arrest-1", refer("seattle-pd", "DEMO-P-1", "Rivera", "arrest_diversion")),
    ("refer-arrest-2", refer("kc-sheriff", "DEMO-P-2", "Okafor", "arrest_diversion")),
    ("refer-social-1", refer("seattle-pd", "DEMO-P-3", "Lindqvist", "social_contact")),
    ("accept-arrest-1", accept("refer-arrest-1")),
    ("handoff-arrest-1", hand_off("refer-arrest-1", "seattle-pd", "lead-case-management")),
    ("roi-arrest-1", roi("refer-arrest-1", "lead-case-management")),
    ("intake-arrest-1", intake("refer-arrest-1", "lead-case-management")),
    ("contact-arrest-1-street", contact("refer-arrest-1", "lead-case-management", "street", 1)),
    ("contact-arrest-1-office", contact("refer-arrest-1", "lead-case-management", "office", 0)),
    ("owg-social-1", owg_approval("refer-social-1")),
    ("handoff-social-1", hand_off("refer-social-1", "seattle-pd", "evergreen-cm")),
    ("case-arrest-2", legacy_case("refer-arrest-2")),
    ("court-date-arrest-2", court_date("case-arrest-2")),
]
