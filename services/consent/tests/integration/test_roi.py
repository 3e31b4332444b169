"""The Release of Information through the consent service's API, on real PostgreSQL and NATS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest
from fhir.resources.R4B.consent import Consent as FhirConsent

from divert_contracts.casemgmt import ParticipantStatusChanged
from divert_devstack.nats import NatsServer
from divert_devstack.testing import eventually, publish_as

J = "seattle-king-county"
PROSECUTOR = "kc-prosecutor"
CM = "lead-case-management"


@pytest.fixture
def cm(tokens_for: Callable) -> dict[str, str]:
    return tokens_for("case_management", agency=CM)


@pytest.fixture
async def held(relations: Any) -> str:
    """A participant handed off to CM: CM holds its consents."""
    participant_id = str(uuid4())
    await relations.hand_off(participant_id, CM)
    return participant_id


def roi(participant_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "participant_id": participant_id,
        "jurisdiction": J,
        "grants": [
            {"recipient_agency": PROSECUTOR, "categories": ["assessment"], "purposes": ["diversion_monitoring"]}
        ],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "12" * 32,
        "wording_version": "kc-roi-2026.1",
    }
    return body | overrides


async def decide(
    service: httpx.AsyncClient,
    auth: dict[str, str],
    participant_id: str,
    category: str = "assessment",
    purpose: str = "diversion_monitoring",
    agency: str = PROSECUTOR,
) -> dict[str, Any]:
    reply = await service.post(
        "/v1/access-decisions",
        headers=auth,
        json={
            "participant_id": participant_id,
            "jurisdiction": J,
            "requester_agency": agency,
            "category": category,
            "purpose": purpose,
        },
    )
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


class TestOverlap:
    async def test_a_second_live_consent_for_the_same_recipient_and_purpose_is_refused(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str
    ) -> None:
        participant_id = held
        first = await service.post("/v1/consents", json=roi(participant_id), headers=cm)
        assert first.status_code == 201
        second = await service.post("/v1/consents", json=roi(participant_id), headers=cm)
        assert second.status_code == 409
        assert second.json()["field"] == "grants.0"
        assert first.json()["consent_id"] in second.json()["detail"]

    async def test_after_revocation_a_new_consent_is_welcome(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str
    ) -> None:
        participant_id = held
        first = (await service.post("/v1/consents", json=roi(participant_id), headers=cm)).json()["consent_id"]
        await service.post(f"/v1/consents/{first}/revocation", json={}, headers=cm)
        assert (await service.post("/v1/consents", json=roi(participant_id), headers=cm)).status_code == 201


class TestDrafts:
    async def test_a_draft_permits_nothing_until_signed(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str, tokens_for: Callable
    ) -> None:
        prosecutor = tokens_for("prosecutor", agency=PROSECUTOR)
        participant_id = held
        body = roi(participant_id, state="draft")
        del body["signed_document_sha256"]
        created = await service.post("/v1/consents", json=body, headers=cm)
        assert created.status_code == 201 and created.json()["state"] == "draft"
        consent_id = created.json()["consent_id"]
        assert (await decide(service, prosecutor, participant_id))["decision"] == "deny"
        signed = await service.post(
            f"/v1/consents/{consent_id}/signature", json={"signed_document_sha256": "34" * 32}, headers=cm
        )
        assert signed.status_code == 200, signed.text
        assert (await decide(service, prosecutor, participant_id))["decision"] == "permit"
        again = await service.post(
            f"/v1/consents/{consent_id}/signature", json={"signed_document_sha256": "56" * 32}, headers=cm
        )
        assert again.status_code == 409  # signed consents are immutable
        stored = (await service.get(f"/v1/consents/{consent_id}", headers=cm)).json()
        assert stored["signed_document_sha256"] == "34" * 32 and stored["wording_version"] == "kc-roi-2026.1"
        await service.post(f"/v1/consents/{consent_id}/revocation", json={}, headers=cm)
        history = (await service.get(f"/v1/consents/{consent_id}/versions", headers=cm)).json()
        assert [v["change"] for v in history] == ["ConsentDrafted", "ConsentGranted", "ConsentRevoked"]
        assert history[0]["terms"]["wording_version"] == "kc-roi-2026.1"


class TestSection235:
    async def test_an_irrevocable_monitoring_consent_refuses_revocation_with_the_reason(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str, tokens_for: Callable
    ) -> None:
        participant_id = held
        grants = [
            {
                "recipient_agency": PROSECUTOR,
                "categories": ["assessment"],
                "purposes": ["diversion_monitoring"],
                "irrevocable_until": "2029-06-01T00:00:00Z",
            }
        ]
        consent_id = (await service.post("/v1/consents", json=roi(participant_id, grants=grants), headers=cm)).json()[
            "consent_id"
        ]
        refused = await service.post(
            f"/v1/consents/{consent_id}/revocation", json={"recipient_agency": PROSECUTOR}, headers=cm
        )
        assert refused.status_code == 409
        assert "42 CFR §2.35" in refused.json()["detail"] and refused.json()["field"] == "recipient_agency"
        assert (await decide(service, tokens_for("prosecutor", agency=PROSECUTOR), participant_id))[
            "decision"
        ] == "permit"


class TestExpiryOnExit:
    async def test_a_consent_tied_to_program_exit_stops_permitting_when_the_participant_exits(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str, tokens_for: Callable, module_nats: NatsServer
    ) -> None:
        prosecutor = tokens_for("prosecutor", agency=PROSECUTOR)
        participant_id = held
        await service.post("/v1/consents", json=roi(participant_id, expires_on_event="program_exit"), headers=cm)
        assert (await decide(service, prosecutor, participant_id))["decision"] == "permit"
        nc = await nats.connect(module_nats.url)
        try:
            await publish_as(
                nc,
                "casemgmt",
                ParticipantStatusChanged(
                    participant_id=participant_id,
                    status="exited",
                    reason="code_of_conduct",
                    changed_at=datetime.now(UTC),
                ),
            )
        finally:
            await nc.close()

        async def denied() -> bool:
            return (await decide(service, prosecutor, participant_id))["decision"] == "deny"

        await eventually(denied)


class TestDocuments:
    async def test_the_fhir_export_is_a_valid_r4_consent(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str
    ) -> None:
        participant_id = held
        grants = [
            {"recipient_agency": PROSECUTOR, "categories": ["assessment"], "purposes": ["diversion_monitoring"]},
            {
                "recipient_agency": "seattle-pd",
                "categories": ["referral", "identity"],
                "purposes": ["care_coordination"],
            },
        ]
        consent_id = (await service.post("/v1/consents", json=roi(participant_id, grants=grants), headers=cm)).json()[
            "consent_id"
        ]
        await service.post(f"/v1/consents/{consent_id}/revocation", json={"recipient_agency": "seattle-pd"}, headers=cm)
        reply = await service.get(f"/v1/consents/{consent_id}/fhir", headers=cm)
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("application/fhir+json")
        resource = FhirConsent.model_validate(reply.json())
        assert resource.status == "active"
        provisions = {p.actor[0].reference.identifier.value: p for p in resource.provision.provision}
        assert set(provisions) == {PROSECUTOR, "seattle-pd"}
        assert [c.code for c in provisions[PROSECUTOR].class_fhir] == ["assessment"]
        assert provisions["seattle-pd"].period.end is not None  # revoked: the permit ended then

    async def test_the_preview_says_in_plain_words_what_each_recipient_gets(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str
    ) -> None:
        grants = [
            {
                "recipient_agency": PROSECUTOR,
                "recipient_agency_type": "prosecutor",
                "categories": ["assessment", "substance_use"],
                "purposes": ["diversion_monitoring"],
                "irrevocable_until": "2027-02-01T00:00:00Z",
            }
        ]
        reply = await service.post("/v1/consents/preview", json=roi(held, grants=grants), headers=cm)
        assert reply.status_code == 200, reply.text
        [recipient] = reply.json()["recipients"]
        assert recipient["shares"] == ["assessment"] and recipient["never_shared"] == ["substance_use"]
        assert "intake" in recipient["text"] and "42 CFR §2.35" in recipient["text"]
        assert "never shared with police or a prosecutor" in recipient["text"]

    async def test_a_preview_stores_nothing(
        self, service: httpx.AsyncClient, cm: dict[str, str], held: str, tokens_for: Callable
    ) -> None:
        participant_id = held
        await service.post("/v1/consents/preview", json=roi(participant_id), headers=cm)
        assert (await decide(service, tokens_for("prosecutor", agency=PROSECUTOR), participant_id))[
            "decision"
        ] == "deny"
