"""One diversion, driven through the gateway exactly as partner systems would (DESIGN §7)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import nats

from tests.conftest import System
from tests.partner import consent_body, intake_body, referral_body, roi_naming, until_created

PROBLEM = "application/problem+json"


def _refer(system: System, rms_person_id: str) -> dict:
    reply = system.partner("police").post("/v1/referrals", json=referral_body(rms_person_id))
    assert reply.status_code == 201, reply.text
    return reply.json()


class TestOneDiversion:
    def test_referral_hold_consent_intake_and_revocation(self, system: System) -> None:
        police, cm, prosecutor = (system.partner(t) for t in ("police", "case_management", "prosecutor"))

        created = _refer(system, "P-E2E-1")
        assert created["status"] == "offered"
        assert created["intake_deadline"] is not None
        referral_id, participant_id = created["referral_id"], created["participant_id"]

        held = prosecutor.wait_for(f"/v1/held-charges/{referral_id}", lambda r: r.status_code == 200)
        assert held.json()["status"] == "held"
        assert held.json()["intake_deadline"] == created["intake_deadline"]

        assert police.post(f"/v1/referrals/{referral_id}/acceptance").status_code == 200
        handoff = {
            "case_manager_id": "cm-e2e",
            "location": "Precinct",
            "at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "case_management_agency": "lead-case-management",
        }
        handed = police.post(f"/v1/referrals/{referral_id}/handoff", json=handoff)
        assert handed.status_code == 200, handed.text
        # The provider named in the hand-off holds the participant's case-management records from now on.
        intake_path = f"/v1/participants/{participant_id}/intake"
        cm.wait_for(intake_path, lambda r: r.status_code == 200)
        refused = prosecutor.get(intake_path)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith(PROBLEM)

        consent = until_created(lambda: cm.post("/v1/consents", json=consent_body(participant_id)))
        assert consent.status_code == 201, consent.text
        consent_id = consent.json()["consent_id"]
        served = prosecutor.get(intake_path)
        assert served.status_code == 200, served.text
        assert served.json()["intake_status"] == "pending"

        # Enrolment needs a signed ROI naming the provider that holds the person (toolkit VII.C); one naming only
        # the prosecutor is not it, and a refused intake changes nothing.
        no_roi = cm.post(intake_path, json=intake_body())
        assert no_roi.status_code == 422 and no_roi.json()["field"] == "roi", no_roi.text
        assert prosecutor.get(f"/v1/held-charges/{referral_id}").json()["status"] == "held"
        own = cm.post("/v1/consents", json=roi_naming(participant_id, {"lead-case-management": ["care_coordination"]}))
        assert own.status_code == 201, own.text
        intake = cm.post(intake_path, json=intake_body())
        assert intake.status_code == 200, intake.text
        assert cm.get(f"/v1/participants/{participant_id}").json()["enrolment"] == "enrolled"
        closed = prosecutor.wait_for(f"/v1/held-charges/{referral_id}", lambda r: r.json().get("status") != "held")
        assert closed.json()["status"] == "closed_by_intake"

        filing = prosecutor.post(f"/v1/held-charges/{referral_id}/filing", json={"meets_filing_standards": True})
        assert filing.status_code == 409
        assert "intake" in filing.json()["detail"]
        assert prosecutor.get(f"/v1/held-charges/{referral_id}").json()["status"] == "closed_by_intake"

        revoked = cm.post(f"/v1/consents/{consent_id}/revocation", json={})
        assert revoked.status_code == 200, revoked.text
        after = prosecutor.get(intake_path)
        assert after.status_code == 403
        assert police.get(f"/v1/referrals/{referral_id}").status_code == 200


class TestEventsAreThinCloudEvents:
    async def test_diversion_offered_carries_no_name_or_birth_date(self, system: System) -> None:
        created = _refer(system, "P-THIN-1")
        nc = await nats.connect(system.endpoints["nats_url"])
        try:
            js = nc.jetstream()
            sub = await js.subscribe("lead.seattle-king-county.referral.DiversionOffered", ordered_consumer=True)
            envelopes = []
            while True:
                try:
                    msg = await sub.next_msg(timeout=2)
                except nats.errors.TimeoutError:
                    break
                envelopes.append(msg)
            mine = [m for m in envelopes if json.loads(m.data)["data"]["referral_id"] == created["referral_id"]]
        finally:
            await nc.close()
        assert len(mine) == 1
        raw = mine[0].data.decode()
        for personal in ("Alex", "Doe", "1990-04-01", "3rd Ave", "Officer Example"):
            assert personal not in raw
        cloud_event = json.loads(raw)
        assert cloud_event["specversion"] == "1.0"
        assert cloud_event["type"] == "org.divert.referral.DiversionOffered.v1"
        assert cloud_event["source"] == "/divert/seattle-king-county/referral"
        assert cloud_event["jurisdiction"] == "seattle-king-county"
        assert mine[0].headers["Nats-Msg-Id"] == cloud_event["id"]


class TestAuditChain:
    async def test_verification_is_valid_and_reports_an_altered_row(self, system: System) -> None:
        auditor = system.partner("auditor")
        created = _refer(system, "P-AUDIT-1")
        # The referral's event and the access decisions of earlier tests reach the log asynchronously.
        conn = await asyncpg.connect(system.database_url("audit"))
        try:
            for _ in range(200):
                row = await conn.fetchrow(
                    "SELECT seq, entry FROM audit_log WHERE entry::text LIKE '%' || $1 || '%' ORDER BY seq LIMIT 1",
                    created["referral_id"],
                )
                if row is not None:
                    break
                await asyncio.sleep(0.05)
            assert row is not None
            report = auditor.get("/v1/audit/verification").json()
            assert report["valid"] is True
            assert report["entries"] >= 1

            original = row["entry"]
            tampered = original.replace(created["referral_id"], "00000000-0000-0000-0000-000000000000")
            await conn.execute("UPDATE audit_log SET entry = $1::jsonb WHERE seq = $2", tampered, row["seq"])
            try:
                broken = auditor.get("/v1/audit/verification").json()
                assert broken["valid"] is False
                assert broken["first_bad_entry"] == row["seq"]
            finally:
                await conn.execute("UPDATE audit_log SET entry = $1::jsonb WHERE seq = $2", original, row["seq"])
            assert auditor.get("/v1/audit/verification").json()["valid"] is True
        finally:
            await conn.close()

    def test_only_auditors_verify(self, system: System) -> None:
        reply = system.partner("police").get("/v1/audit/verification")
        assert reply.status_code == 403
