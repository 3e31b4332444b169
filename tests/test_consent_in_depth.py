"""The ROI's life through the gateway: preview, sign, FHIR, the seeded MOU, break-glass, and the accounting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from fhir.resources.R4B.consent import Consent as FhirConsent

from tests.conftest import System
from tests.partner import consent_body, referral_body

J = "seattle-king-county"
REASON = "Participant in crisis at the day center; the on-call nurse needs current mental-health information."


def participant(system: System, tag: str) -> tuple[str, str]:
    """(referral, participant), handed off to the demo's first provider, which then holds the participant."""
    police, cm = system.partner("police"), system.partner("case_management")
    created = police.post("/v1/referrals", json=referral_body(f"P-DEPTH-{tag}-{uuid4().hex[:6]}"))
    assert created.status_code == 201
    referral_id, participant_id = created.json()["referral_id"], created.json()["participant_id"]
    assert police.post(f"/v1/referrals/{referral_id}/acceptance").status_code == 200
    handoff = {
        "case_manager_id": "cm-ana",
        "location": "Day center",
        "at": datetime.now(UTC).isoformat(),
        "case_management_agency": cm.client["agency_id"],
    }
    handed = police.post(f"/v1/referrals/{referral_id}/handoff", json=handoff)
    assert handed.status_code == 200, handed.text
    cm.wait_for(f"/v1/participants/{participant_id}/intake", lambda r: r.status_code == 200)
    cm.wait_for(f"/v1/consents?participant_id={participant_id}&jurisdiction={J}", lambda r: r.status_code == 200)
    return referral_id, participant_id


class TestTheConsentsLife:
    def test_preview_then_sign_then_export_then_read_and_account(self, system: System) -> None:
        cm, prosecutor, auditor = (system.partner(t) for t in ("case_management", "prosecutor", "auditor"))
        _, participant_id = participant(system, "LIFE")
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
        # Other agencies' reads (partner delivery's decisions among them) are disclosures too, in any order.
        ours = ("kc-prosecutor", "assessment", "diversion_monitoring")

        def _prosecutor_read(r: Any) -> bool:
            items = r.json().get("items", []) if r.status_code == 200 else []
            return any((i["recipient_agency"], i["category"], i["purpose"]) == ours for i in items)

        listed = cm.wait_for(accounting, _prosecutor_read)
        [latest, *_] = [
            i for i in listed.json()["items"] if (i["recipient_agency"], i["category"], i["purpose"]) == ours
        ]
        assert latest["basis_kind"] == "consent" and latest["basis_id"] == consent_id
        denied = auditor.wait_for(
            accounting + "?include_denied=true",
            lambda r: any(i["decision"] == "deny" for i in r.json().get("items", [])),
        )
        assert denied.status_code == 200


class TestTheSeededMou:
    def test_the_mou_is_the_sites_versioned_settings_not_an_api_call(self, system: System) -> None:
        pm = system.partner("project_manager")
        mou = pm.get("/v1/site-grants", params={"jurisdiction": J})
        assert mou.status_code == 200, mou.text
        assert mou.json()["version"] == 1 and mou.json()["approved_by"]
        assert {t["relation"] for t in mou.json()["terms"]} == {"handoff_provider", "charge_holder", None}
        issued = pm.post(
            "/v1/site-grants",
            json={
                "jurisdiction": J,
                "recipient_agency_type": "project_manager",
                "categories": ["substance_use", "mental_health", "plan"],
                "purposes": ["program_operations"],
            },
        )
        assert issued.status_code in (404, 405)

    def test_the_handoff_packet_reaches_the_named_provider_only(self, system: System) -> None:
        referral_id, participant_id = participant(system, "PACKET")
        cm = system.partner("case_management")
        packet = cm.get(f"/v1/referrals/{referral_id}")
        assert packet.status_code == 200, packet.text
        for outsider in ("evergreen-cm", "kc-sheriff", "santa-fe-cm"):
            assert system.agency(outsider).get(f"/v1/referrals/{referral_id}").status_code == 403, outsider
        assert system.agency("kc-sheriff").get(f"/v1/participants/{participant_id}/intake").status_code == 403
        accounting = cm.wait_for(
            f"/v1/participants/{participant_id}/disclosures",
            lambda r: any(i["basis_kind"] == "site_grant" for i in r.json().get("items", [])),
        )
        served = next(i for i in accounting.json()["items"] if i["basis_kind"] == "site_grant")
        assert served["basis_id"] == f"mou:{J}:v1:term-1"


class TestBreakGlass:
    def test_only_the_holding_provider_breaks_the_glass_and_each_use_is_flagged(self, system: System) -> None:
        referral_id, participant_id = participant(system, "GLASS")
        cm, police = system.partner("case_management"), system.partner("police")
        body = {"participant_id": participant_id, "jurisdiction": J, "categories": ["referral"], "reason": REASON}
        officer = {"Divert-Acting-Person": "B-4411"}
        assert police.post("/v1/break-glass", headers=officer, json=body | {"minutes": 15}).status_code == 403
        other = system.agency("evergreen-cm").post(
            "/v1/break-glass", headers={"Divert-Acting-Person": "cm-9"}, json=body
        )
        assert other.status_code == 403
        nurse = {"Divert-Acting-Person": "cm-0042"}
        part2 = cm.post("/v1/break-glass", headers=nurse, json=body | {"categories": ["substance_use"]})
        assert part2.status_code == 422 and part2.json()["field"] == "categories"

        glass = cm.post("/v1/break-glass", headers=nurse, json=body | {"minutes": 15})
        assert glass.status_code == 201, glass.text
        emergency = cm.get(f"/v1/referrals/{referral_id}?purpose=BTG", headers=nurse)
        assert emergency.status_code == 200
        accounting = cm.wait_for(
            f"/v1/participants/{participant_id}/disclosures",
            lambda r: any("break_glass" in i["flags"] for i in r.json().get("items", [])),
        )
        flagged = next(i for i in accounting.json()["items"] if "break_glass" in i["flags"])
        assert flagged["acting_person"] == "cm-0042" and flagged["purpose"] == "BTG"
