"""Finding 1 (consent side): a participant's consents belong to the provider holding it, in its jurisdiction.

Another provider of the same site, or a provider of another jurisdiction, records, signs, revokes, drafts and
reads nothing of them, and is answered exactly as for an unknown id; auditors keep their oversight read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa

from divert_kernel.db import make_engine

J = "seattle-king-county"
HOLDER = "lead-case-management"


def roi(participant_id: str, recipient: str = "kc-prosecutor", **overrides: Any) -> dict[str, Any]:
    body = {
        "participant_id": participant_id,
        "jurisdiction": J,
        "grants": [{"recipient_agency": recipient, "categories": ["plan"], "purposes": ["care_coordination"]}],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "5a" * 32,
    }
    return body | overrides


@pytest.fixture
def holder(tokens_for: Callable) -> dict[str, str]:
    return tokens_for("case_management", agency=HOLDER)


@pytest.fixture(params=["second provider", "other jurisdiction"])
def outsider(request: pytest.FixtureRequest, tokens_for: Callable) -> dict[str, str]:
    if request.param == "second provider":
        return tokens_for("case_management", agency="evergreen-cm")
    # The same agency id in another jurisdiction is another agency.
    return tokens_for("case_management", agency=HOLDER, jurisdictions=["santa-fe"])


@pytest.fixture
async def consent(service: httpx.AsyncClient, holder: dict[str, str], relations: Any) -> tuple[str, str]:
    """(participant, consent) held by HOLDER."""
    participant_id = str(uuid4())
    await relations.hand_off(participant_id, HOLDER)
    created = await service.post("/v1/consents", json=roi(participant_id), headers=holder)
    assert created.status_code == 201, created.text
    return participant_id, created.json()["consent_id"]


def same(a: httpx.Response, b: httpx.Response) -> bool:
    return (a.status_code, a.json()) == (b.status_code, b.json())


class TestOnlyTheHolderActs:
    async def test_another_provider_cannot_record_a_consent_naming_another_police_agency(
        self, service: httpx.AsyncClient, consent: tuple[str, str], tokens_for: Callable
    ) -> None:
        participant_id, _ = consent
        evergreen = tokens_for("case_management", agency="evergreen-cm")
        opened = await service.post("/v1/consents", json=roi(participant_id, "kc-sheriff"), headers=evergreen)
        unknown = await service.post("/v1/consents", json=roi(str(uuid4()), "kc-sheriff"), headers=evergreen)
        assert opened.status_code == 403 and same(opened, unknown)
        decided = await service.post(
            "/v1/access-decisions",
            headers=tokens_for("police", agency="kc-sheriff"),
            json={
                "participant_id": participant_id,
                "jurisdiction": J,
                "requester_agency": "kc-sheriff",
                "category": "plan",
                "purpose": "care_coordination",
            },
        )
        assert decided.json()["decision"] == "deny"

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", "/v1/consents/{id}", None),
            ("GET", "/v1/consents/{id}/versions", None),
            ("GET", "/v1/consents/{id}/fhir", None),
            ("POST", "/v1/consents/{id}/revocation", {}),
            ("POST", "/v1/consents/{id}/signature", {"signed_document_sha256": "6b" * 32}),
        ],
    )
    async def test_an_outsider_gets_exactly_what_an_unknown_id_gets(
        self,
        service: httpx.AsyncClient,
        consent: tuple[str, str],
        outsider: dict[str, str],
        method: str,
        path: str,
        body: dict | None,
    ) -> None:
        _, consent_id = consent
        kwargs: dict[str, Any] = {"headers": outsider} | ({"json": body} if body is not None else {})
        known = await service.request(method, path.format(id=consent_id), **kwargs)
        unknown = await service.request(method, path.format(id=uuid4()), **kwargs)
        assert known.status_code == 403, known.text
        assert same(known, unknown)

    async def test_an_outsider_lists_nothing_and_reads_as_for_an_unknown_participant(
        self, service: httpx.AsyncClient, consent: tuple[str, str], outsider: dict[str, str]
    ) -> None:
        participant_id, _ = consent
        known = await service.get(
            "/v1/consents", params={"participant_id": participant_id, "jurisdiction": J}, headers=outsider
        )
        unknown = await service.get(
            "/v1/consents", params={"participant_id": str(uuid4()), "jurisdiction": J}, headers=outsider
        )
        assert known.status_code == 403 and same(known, unknown)

    async def test_an_outsider_cannot_draft_a_preview(
        self, service: httpx.AsyncClient, consent: tuple[str, str], tokens_for: Callable
    ) -> None:
        participant_id, _ = consent
        evergreen = tokens_for("case_management", agency="evergreen-cm")
        preview = await service.post("/v1/consents/preview", json=roi(participant_id), headers=evergreen)
        assert preview.status_code == 403

    async def test_the_holder_and_auditors_read(
        self, service: httpx.AsyncClient, consent: tuple[str, str], holder: dict[str, str], tokens_for: Callable
    ) -> None:
        participant_id, consent_id = consent
        auditor = tokens_for("auditor", agency="lead-auditor")
        for reader in (holder, auditor):
            assert (await service.get(f"/v1/consents/{consent_id}", headers=reader)).status_code == 200
            listed = await service.get(
                "/v1/consents", params={"participant_id": participant_id, "jurisdiction": J}, headers=reader
            )
            assert [c["consent_id"] for c in listed.json()["items"]] == [consent_id]
        assert (await service.post(f"/v1/consents/{consent_id}/revocation", json={}, headers=holder)).status_code == 200

    async def test_a_new_hand_off_moves_the_consents_to_the_new_provider(
        self,
        service: httpx.AsyncClient,
        consent: tuple[str, str],
        holder: dict[str, str],
        tokens_for: Callable,
        relations: Any,
    ) -> None:
        participant_id, consent_id = consent
        await relations.hand_off(participant_id, "evergreen-cm")
        evergreen = tokens_for("case_management", agency="evergreen-cm")
        assert (await service.get(f"/v1/consents/{consent_id}", headers=evergreen)).status_code == 200
        assert (await service.get(f"/v1/consents/{consent_id}", headers=holder)).status_code == 403


class TestAnotherAgencyReadsThroughTheGate:
    async def test_an_roi_naming_the_other_provider_for_referral_lets_it_read_and_is_recorded(
        self, service: httpx.AsyncClient, holder: dict[str, str], tokens_for: Callable, relations: Any, database: str
    ) -> None:
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, HOLDER)
        grants = [{"recipient_agency": "evergreen-cm", "categories": ["referral"], "purposes": ["care_coordination"]}]
        consent_id = (
            await service.post("/v1/consents", json=roi(participant_id, grants=grants), headers=holder)
        ).json()["consent_id"]
        evergreen = tokens_for("case_management", agency="evergreen-cm")
        assert (await service.get(f"/v1/consents/{consent_id}", headers=evergreen)).status_code == 200
        refused = await service.post(f"/v1/consents/{consent_id}/revocation", json={}, headers=evergreen)
        assert refused.status_code == 403  # reading is not holding
        engine = make_engine(database)
        try:
            async with engine.connect() as conn:
                recorded = await conn.scalar(
                    sa.text(
                        "SELECT count(*) FROM events WHERE type = 'AccessDecided' AND data->>'participant_id' = :p "
                        "AND data->>'requester_agency' = 'evergreen-cm' AND data->>'decision' = 'permit' "
                        "AND data->>'category' = 'referral'"
                    ),
                    {"p": participant_id},
                )
        finally:
            await engine.dispose()
        assert recorded == 1  # in the participant's accounting of disclosures


class TestRecipientsAreAgenciesOfTheSite:
    async def test_a_recipient_the_site_does_not_list_is_refused_naming_the_field(
        self, service: httpx.AsyncClient, holder: dict[str, str], relations: Any
    ) -> None:
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, HOLDER)
        grants = [
            {"recipient_agency": "kc-prosecutor", "categories": ["plan"], "purposes": ["care_coordination"]},
            {"recipient_agency": "santa-fe-pd", "categories": ["plan"], "purposes": ["care_coordination"]},
        ]
        reply = await service.post("/v1/consents", json=roi(participant_id, grants=grants), headers=holder)
        assert reply.status_code == 422 and reply.json()["field"] == "grants.1.recipient_agency"
        listed = await service.get(
            "/v1/consents", params={"participant_id": participant_id, "jurisdiction": J}, headers=holder
        )
        assert listed.json()["items"] == []  # nothing recorded


class TestARecipientSeesOnlyWhatNamesIt:
    """Found from outside: agencies with a `referral` permit read whole consents, Part 2 grants included."""

    async def test_a_named_recipient_reads_its_own_grant_and_nothing_else(
        self, service: httpx.AsyncClient, holder: dict[str, str], relations: Any, tokens_for: Callable
    ) -> None:
        participant_id = str(uuid4())
        await relations.refer(participant_id)
        await relations.hand_off(participant_id, HOLDER)
        body = roi(participant_id, "seattle-pd")
        body["grants"] = [
            {"recipient_agency": "seattle-pd", "categories": ["referral", "plan"], "purposes": ["care_coordination"]},
            {"recipient_agency": "kc-public-defender", "categories": ["substance_use"], "purposes": ["defense"]},
        ]
        created = await service.post("/v1/consents", json=body, headers=holder)
        assert created.status_code == 201, created.text
        consent_id = created.json()["consent_id"]
        police = tokens_for("police", agency="seattle-pd")
        seen = await service.get(f"/v1/consents/{consent_id}", headers=police)
        assert seen.status_code == 200, seen.text
        assert [g["recipient_agency"] for g in seen.json()["grants"]] == ["seattle-pd"]
        listed = await service.get(
            "/v1/consents", params={"participant_id": participant_id, "jurisdiction": J}, headers=police
        )
        assert listed.status_code == 200 and "substance_use" not in listed.text
        unknown = await service.get(f"/v1/consents/{uuid4()}/fhir", headers=police)
        for whole in ("fhir", "versions"):
            refused = await service.get(f"/v1/consents/{consent_id}/{whole}", headers=police)
            assert refused.status_code == 403 and same(refused, unknown), whole
        full = await service.get(f"/v1/consents/{consent_id}", headers=holder)
        assert len(full.json()["grants"]) == 2

    async def test_an_agency_permitted_by_the_mou_but_not_named_learns_nothing(
        self, service: httpx.AsyncClient, holder: dict[str, str], relations: Any, tokens_for: Callable
    ) -> None:
        participant_id = str(uuid4())
        await relations.refer(participant_id)
        await relations.hand_off(participant_id, HOLDER)
        created = await service.post("/v1/consents", json=roi(participant_id, "seattle-pd"), headers=holder)
        assert created.status_code == 201, created.text
        manager = tokens_for("project_manager", agency="lead-project-manager")  # the MOU gives it `referral`
        params = {"participant_id": participant_id, "jurisdiction": J}
        refused = await service.get("/v1/consents", params=params, headers=manager)
        unknown = await service.get("/v1/consents", params={**params, "participant_id": str(uuid4())}, headers=manager)
        assert refused.status_code == 403 and same(refused, unknown)
        one = await service.get(f"/v1/consents/{created.json()['consent_id']}", headers=manager)
        assert one.status_code == 403
