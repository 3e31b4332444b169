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

    async def test_an_auditors_what_if_takes_the_agencys_type_from_the_registry(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        """Found from outside: with the type left out (or named falsely), the what-if said Part 2 was permitted."""
        cm, auditor = tokens_for("case_management", agency=CM), tokens_for("auditor", agency="lead-auditor")
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, CM)
        # Granted for care coordination: only the recipient's type (a prosecutor) can refuse it.
        grants = [{"recipient_agency": PROSECUTOR, "categories": ["substance_use"], "purposes": ["care_coordination"]}]
        recorded = await service.post("/v1/consents", json=roi(participant_id, [], grants=grants), headers=cm)
        assert recorded.status_code == 201, recorded.text
        for claimed in ({}, {"requester_agency_type": "case_management"}):
            reply = await service.post(
                "/v1/access-decisions",
                headers=auditor,
                json={
                    "participant_id": participant_id,
                    "jurisdiction": "seattle-king-county",
                    "requester_agency": PROSECUTOR,
                    "category": "substance_use",
                    "purpose": "care_coordination",
                    **claimed,
                },
            )
            assert reply.status_code == 200 and reply.json()["decision"] == "deny", (claimed, reply.text)

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


# 42 CFR §2.32(a)(1), February 2024 final rule, copied from the Federal Register text (not from the code).
NOTICE_2024 = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules (42 CFR part 2). "
    "These rules prohibit you from using or disclosing this record, or testimony that describes the information "
    "contained in this record, in any civil, criminal, administrative, or legislative proceedings by any Federal, "
    "State, or local authority, against the patient, unless authorized by the consent of the patient, except as "
    "provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR 2.64 or 2.65. In addition, "
    "the Federal rules prohibit you from making any other use or disclosure of this record unless at least one of "
    "the following applies: (i) Further use or disclosure is expressly permitted by the written consent of the "
    "individual whose information is being disclosed in this record or as otherwise permitted by 42 CFR part 2. "
    "(ii) You are a covered entity or business associate and have received the record for treatment, payment, or "
    "health care operations, or (iii) You have received the record from a covered entity or business associate as "
    "permitted by 45 CFR part 164, subparts A and E. A general authorization for the release of medical or other "
    "information is NOT sufficient to meet the required elements of written consent to further use or redisclose "
    "the record (see 42 CFR 2.31)."
)


class TestObligations:
    """Finding 6: a Part 2 permit carries its labels and the 2024 §2.32 notice; mental health is not Part 2."""

    async def permits(self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any) -> dict[str, dict]:
        defender = "kc-public-defender"
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, CM)
        grants = [
            {"recipient_agency": defender, "categories": ["substance_use", "mental_health"], "purposes": ["defense"]}
        ]
        created = await service.post(
            "/v1/consents",
            json=roi(participant_id, [], grants=grants),
            headers=tokens_for("case_management", agency=CM),
        )
        assert created.status_code == 201, created.text
        decided = {}
        for category in ("substance_use", "mental_health"):
            reply = await service.post(
                "/v1/access-decisions",
                headers=tokens_for("defender", agency=defender),
                json={
                    "participant_id": participant_id,
                    "jurisdiction": "seattle-king-county",
                    "requester_agency": defender,
                    "category": category,
                    "purpose": "defense",
                },
            )
            decided[category] = reply.json()
            assert decided[category]["decision"] == "permit"
        return decided

    async def test_substance_use_carries_the_part2_labels_and_the_2024_notice(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        obligations = {
            o["kind"]: o for o in (await self.permits(service, tokens_for, relations))["substance_use"]["obligations"]
        }
        assert "42CFRPart2" in obligations["security_labels"]["labels"]
        assert obligations["redisclosure_notice"]["text"] == NOTICE_2024

    async def test_mental_health_is_labelled_without_part2_or_its_notice(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        [labels] = (await self.permits(service, tokens_for, relations))["mental_health"]["obligations"]
        assert labels["kind"] == "security_labels" and "42CFRPart2" not in labels["labels"]
