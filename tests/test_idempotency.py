"""A partner's retried POST is answered once: same key and request, same answer, one effect."""

from __future__ import annotations

from uuid import uuid4

from tests.conftest import System
from tests.partner import hand_off, intake_body, referral_body, roi_naming, until_created


class TestIdempotencyKeys:
    def test_a_retried_referral_is_recorded_once_and_answered_the_same(self, system: System) -> None:
        police = system.partner("police")
        key = {"Idempotency-Key": f"rms-{uuid4()}"}
        body = referral_body("P-IDEM-1")
        first = police.post("/v1/referrals", json=body, headers=key)
        again = police.post("/v1/referrals", json=body, headers=key)
        assert first.status_code == 201 and again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers

    def test_the_same_key_for_another_request_is_refused_naming_the_header(self, system: System) -> None:
        police = system.partner("police")
        key = {"Idempotency-Key": f"rms-{uuid4()}"}
        assert police.post("/v1/referrals", json=referral_body("P-IDEM-2"), headers=key).status_code == 201
        other = police.post("/v1/referrals", json=referral_body("P-IDEM-3"), headers=key)
        assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"

    def test_keys_belong_to_one_client(self, system: System) -> None:
        key = {"Idempotency-Key": f"shared-{uuid4()}"}
        police, cm = system.partner("police"), system.partner("case_management")
        created = police.post("/v1/referrals", json=referral_body("P-IDEM-4"), headers=key)
        assert created.status_code == 201
        elsewhere = cm.post("/v1/referrals", json=referral_body("P-IDEM-4"), headers=key)
        assert elsewhere.status_code == 403  # the other client's own request, not a replay of the police answer

    def test_without_a_key_two_posts_are_two_referrals(self, system: System) -> None:
        police = system.partner("police")
        body = referral_body("P-IDEM-5")
        assert (
            police.post("/v1/referrals", json=body).json()["referral_id"]
            != police.post("/v1/referrals", json=body).json()["referral_id"]
        )

    def test_a_malformed_key_is_refused(self, system: System) -> None:
        reply = system.partner("police").post(
            "/v1/referrals", json=referral_body("P-IDEM-6"), headers={"Idempotency-Key": "has spaces in it"}
        )
        assert reply.status_code == 422 and reply.json()["field"] == "Idempotency-Key"

    def test_a_keyed_command_answers_with_its_own_effect(self, system: System) -> None:
        """The answer is read inside the keyed command's still-open transaction: it shows what the command did."""
        police, cm = system.partner("police"), system.partner("case_management")
        created = police.post("/v1/referrals", json=referral_body("P-IDEM-READ")).json()
        hand_off(police, cm, created)
        participant = created["participant_id"]
        roi = roi_naming(participant, {cm.client["agency_id"]: ["care_coordination"]})
        assert until_created(lambda: cm.post("/v1/consents", json=roi)).status_code == 201
        key = {"Idempotency-Key": f"cm-{uuid4()}"}
        intake = cm.post(f"/v1/participants/{participant}/intake", json=intake_body(), headers=key)
        assert intake.status_code == 200, intake.text
        assert intake.json()["intake_status"] == "completed"
        again = cm.post(f"/v1/participants/{participant}/intake", json=intake_body(), headers=key)
        assert again.json() == intake.json() and again.headers["Idempotent-Replayed"] == "true"
