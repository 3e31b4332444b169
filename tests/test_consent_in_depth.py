"""The ROI's life through the gateway: preview, sign, FHIR, site grants, break-glass, and the accounting."""

from __future__ import annotations

from fhir.resources.R4B.consent import Consent as FhirConsent

from tests.conftest import System
from tests.partner import consent_body, referral_body

J = "seattle-king-county"
REASON = "Participant in crisis at the day center; the on-call nurse needs current mental-health information."


def participant(system: System, tag: str) -> str:
    created = system.partner("police").post("/v1/referrals", json=referral_body(f"P-DEPTH-{tag}"))
    assert created.status_code == 201
    participant_id = created.json()["participant_id"]
    system.partner("case_management").wait_for(
        f"/v1/participants/{participant_id}/intake", lambda r: r.status_code == 200
    )
    return participant_id


class TestTheConsentsLife:
    def test_preview_then_sign_then_export_then_read_and_account(self, system: System) -> None:
        cm, prosecutor, auditor = (system.partner(t) for t in ("case_management", "prosecutor", "auditor"))
        participant_id = participant(system, "LIFE")
        draft = consent_body(participant_id, state="draft", wording_version="kc-roi-2026.1")
        draft["grants"][0] |= {
            "recipient_agency_type": "prosecutor",
            "categories": ["assessment", "substance_use"],
            "irrevocable_until": "2029-01-01T00:00:00Z",
        }
        preview = cm.post("/v1/consents/preview", json=draft)
        assert preview.status_code == 200, preview.text
        assert preview.json()["recipients"][0]["never_shared"] == ["substance_use"]

        del draft["signed_document_sha256"]
        created = cm.post("/v1/consents", json=draft)
        assert created.status_code == 201 and created.json()["state"] == "draft"
        consent_id = created.json()["consent_id"]
        intake = f"/v1/participants/{participant_id}/intake"
        assert prosecutor.get(intake).status_code == 403  # a draft permits nothing
        signed = cm.post(f"/v1/consents/{consent_id}/signature", json={"signed_document_sha256": "77" * 32})
        assert signed.status_code == 200
        assert prosecutor.get(intake).status_code == 200

        fhir = cm.get(f"/v1/consents/{consent_id}/fhir")
        assert FhirConsent.model_validate(fhir.json()).status == "active"
        refused = cm.post(f"/v1/consents/{consent_id}/revocation", json={})
        assert refused.status_code == 409 and "2.35" in refused.json()["detail"]

        accounting = f"/v1/participants/{participant_id}/disclosures"
        listed = cm.wait_for(accounting, lambda r: r.status_code == 200 and r.json()["items"])
        latest = listed.json()["items"][0]
        assert (latest["recipient_agency"], latest["category"], latest["purpose"]) == (
            "kc-prosecutor",
            "assessment",
            "diversion_monitoring",
        )
        assert latest["basis_kind"] == "consent" and latest["basis_id"] == consent_id
        denied = auditor.wait_for(
            accounting + "?include_denied=true",
            lambda r: any(i["decision"] == "deny" for i in r.json().get("items", [])),
        )
        assert denied.status_code == 200


class TestSiteGrantsAndBreakGlass:
    def test_the_project_manager_sets_a_site_grant_and_break_glass_is_flagged(self, system: System) -> None:
        pm, police = system.partner("project_manager"), system.partner("police")
        participant_id = participant(system, "GLASS")
        issued = pm.post(
            "/v1/site-grants",
            json={
                "jurisdiction": J,
                "recipient_agency_type": "police",
                "recipient_agency": "seattle-pd",
                "categories": ["assessment"],
                "purposes": ["care_coordination"],
            },
        )
        assert issued.status_code == 201, issued.text
        try:
            assert police.get(f"/v1/participants/{participant_id}/intake").status_code == 200
        finally:
            assert pm.post(f"/v1/site-grants/{issued.json()['grant_id']}/withdrawal").status_code == 204
        assert police.get(f"/v1/participants/{participant_id}/intake").status_code == 403

        officer = {"Divert-Acting-Person": "B-4411"}
        glass = police.post(
            "/v1/break-glass",
            headers=officer,
            json={
                "participant_id": participant_id,
                "jurisdiction": J,
                "categories": ["assessment"],
                "reason": REASON,
                "minutes": 15,
            },
        )
        assert glass.status_code == 201, glass.text
        emergency = police.get(f"/v1/participants/{participant_id}/intake?purpose=BTG", headers=officer)
        assert emergency.status_code == 200
        accounting = system.partner("case_management").wait_for(
            f"/v1/participants/{participant_id}/disclosures",
            lambda r: any("break_glass" in i["flags"] for i in r.json().get("items", [])),
        )
        flagged = next(i for i in accounting.json()["items"] if "break_glass" in i["flags"])
        assert flagged["acting_person"] == "B-4411" and flagged["purpose"] == "BTG"
