"""The consent service on real PostgreSQL and NATS: decisions, revocation, the golden rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import sqlalchemy as sa

from divert_kernel.db import make_engine

PROSECUTOR = "kc-prosecutor"
CM = "lead-case-management"


def roi(participant_id: str, categories: list[str], **overrides: Any) -> dict[str, Any]:
    body = {
        "participant_id": participant_id,
        "jurisdiction": "seattle-king-county",
        "grants": [{"recipient_agency": PROSECUTOR, "categories": categories, "purposes": ["diversion_monitoring"]}],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "cd" * 32,
    }
    body.update(overrides)
    return body


async def decide(
    service: httpx.AsyncClient, auth: dict[str, str], participant_id: str, category: str, agency: str = PROSECUTOR
) -> dict[str, Any]:
    reply = await service.post(
        "/v1/access-decisions",
        headers=auth,
        json={
            "participant_id": participant_id,
            "jurisdiction": "seattle-king-county",
            "requester_agency": agency,
            "category": category,
            "purpose": "diversion_monitoring",
        },
    )
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


class TestDecisions:
    async def test_no_consent_means_deny(self, service: httpx.AsyncClient, tokens_for: Callable) -> None:
        prosecutor = tokens_for("prosecutor", agency=PROSECUTOR)
        assert (await decide(service, prosecutor, str(uuid4()), "assessment"))["decision"] == "deny"

    async def test_a_consent_permits_what_it_names_and_nothing_else(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        cm, prosecutor = tokens_for("case_management", agency=CM), tokens_for("prosecutor", agency=PROSECUTOR)
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, CM)
        created = await service.post("/v1/consents", json=roi(participant_id, ["assessment"]), headers=cm)
        assert created.status_code == 201, created.text
        permit = await decide(service, prosecutor, participant_id, "assessment")
        assert permit["decision"] == "permit"
        assert permit["basis"] == {"kind": "consent", "id": created.json()["consent_id"]}
        assert (await decide(service, prosecutor, participant_id, "housing"))["decision"] == "deny"

    async def test_substance_use_is_denied_to_the_prosecutor_whatever_the_consent_says(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        cm, prosecutor = tokens_for("case_management", agency=CM), tokens_for("prosecutor", agency=PROSECUTOR)
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, CM)
        await service.post("/v1/consents", json=roi(participant_id, ["substance_use", "assessment"]), headers=cm)
        assert (await decide(service, prosecutor, participant_id, "substance_use"))["decision"] == "deny"

    async def test_revocation_takes_effect_on_the_very_next_decision(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        cm, prosecutor = tokens_for("case_management", agency=CM), tokens_for("prosecutor", agency=PROSECUTOR)
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, CM)
        consent_id = (await service.post("/v1/consents", json=roi(participant_id, ["assessment"]), headers=cm)).json()[
            "consent_id"
        ]
        assert (await decide(service, prosecutor, participant_id, "assessment"))["decision"] == "permit"
        revoked = await service.post(
            f"/v1/consents/{consent_id}/revocation", json={"recipient_agency": PROSECUTOR}, headers=cm
        )
        assert revoked.status_code == 200, revoked.text
        assert (await decide(service, prosecutor, participant_id, "assessment"))["decision"] == "deny"

    async def test_an_agency_cannot_ask_on_behalf_of_another(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        reply = await service.post(
            "/v1/access-decisions",
            headers=tokens_for("police", agency="seattle-pd"),
            json={
                "participant_id": str(uuid4()),
                "jurisdiction": "seattle-king-county",
                "requester_agency": PROSECUTOR,
                "category": "assessment",
                "purpose": "diversion_monitoring",
            },
        )
        assert reply.status_code == 403

    async def test_every_decision_is_recorded_as_an_event(
        self, service: httpx.AsyncClient, database: str, tokens_for: Callable
    ) -> None:
        participant_id = str(uuid4())
        await decide(service, tokens_for("prosecutor", agency=PROSECUTOR), participant_id, "identity")
        engine = make_engine(database)
        try:
            async with engine.connect() as conn:
                recorded = await conn.scalar(
                    sa.text(
                        "SELECT count(*) FROM events WHERE type = 'AccessDecided' AND data->>'participant_id' = :p"
                    ),
                    {"p": participant_id},
                )
        finally:
            await engine.dispose()
        assert recorded == 1


class TestConsentTerms:
    async def test_expiry_before_effect_is_refused_naming_the_field(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, CM)
        body = roi(participant_id, ["assessment"], expires_at="2025-01-01T00:00:00Z")
        reply = await service.post("/v1/consents", json=body, headers=tokens_for("case_management", agency=CM))
        assert reply.status_code == 422
        assert reply.json()["field"] == "expires_at"

    async def test_only_case_management_records_consents(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        reply = await service.post("/v1/consents", json=roi(str(uuid4()), ["assessment"]), headers=tokens_for("police"))
        assert reply.status_code == 403
