"""Issue 10, item 11: the consent preview says exactly what the gate decides, for every demo agency of both sites.

The recipient's agency type comes from the site's agency registry; a type in the request body is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest

from divert_contracts.vocabulary import CATEGORIES, PURPOSES
from divert_devstack import demo_site

GRANTED = [p for p in PURPOSES if p != "BTG"]  # a consent never grants break-glass
HOLDERS = {demo_site.SEATTLE: "lead-case-management", demo_site.SANTA_FE: "santa-fe-cm"}


def everything_to_everyone(participant_id: str, jurisdiction: str) -> dict[str, Any]:
    """A consent naming every agency of the site, for every category and purpose."""
    return {
        "participant_id": participant_id,
        "jurisdiction": jurisdiction,
        "grants": [
            {"recipient_agency": agency, "categories": list(CATEGORIES), "purposes": GRANTED}
            for agency, _ in demo_site.AGENCIES[jurisdiction]
        ],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "ef" * 32,
    }


@pytest.fixture(scope="module")
async def recorded(service: httpx.AsyncClient, relations: Any, tokens_for: Callable) -> dict[str, tuple[str, dict]]:
    """Per jurisdiction: a participant held by the site's provider, its consent recorded, and the preview of it."""
    out = {}
    for jurisdiction, holder in HOLDERS.items():
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, holder, jurisdiction=jurisdiction)
        auth = tokens_for("case_management", agency=holder, jurisdictions=[jurisdiction])
        body = everything_to_everyone(participant_id, jurisdiction)
        preview = await service.post("/v1/consents/preview", json=body, headers=auth)
        assert preview.status_code == 200, preview.text
        created = await service.post("/v1/consents", json=body, headers=auth)
        assert created.status_code == 201, created.text
        out[jurisdiction] = (participant_id, {r["recipient_agency"]: r for r in preview.json()["recipients"]})
    return out


DEMO_AGENCIES = [(j, a, t) for j, agencies in demo_site.AGENCIES.items() for a, t in agencies]


class TestPreviewMatchesTheGate:
    @pytest.mark.parametrize(("jurisdiction", "agency", "agency_type"), DEMO_AGENCIES)
    async def test_each_category_reads_as_the_gate_decides(
        self,
        service: httpx.AsyncClient,
        tokens_for: Callable,
        recorded: dict[str, tuple[str, dict]],
        jurisdiction: str,
        agency: str,
        agency_type: str,
    ) -> None:
        participant_id, previews = recorded[jurisdiction]
        statement = previews[agency]
        assert statement["recipient_agency_type"] == agency_type
        per_category = {c["category"]: c for c in statement["categories"]}
        auth = tokens_for(agency_type, agency=agency, jurisdictions=[jurisdiction])
        for category in CATEGORIES:
            for purpose in GRANTED:
                reply = await service.post(
                    "/v1/access-decisions",
                    json={
                        "participant_id": participant_id,
                        "jurisdiction": jurisdiction,
                        "requester_agency": agency,
                        "category": category,
                        "purpose": purpose,
                    },
                    headers=auth,
                )
                assert reply.status_code == 200, reply.text
                permitted = reply.json()["decision"] == "permit"
                assert (purpose in per_category[category]["shared_for"]) == permitted, (category, purpose)
                assert (purpose in per_category[category]["never_for"]) != permitted, (category, purpose)
            assert (category in statement["shares"]) == bool(per_category[category]["shared_for"])
            assert (category in statement["never_shared"]) == (not per_category[category]["shared_for"])


class TestTheRegistrySaysTheType:
    async def test_a_type_in_the_body_is_ignored(
        self, service: httpx.AsyncClient, relations: Any, tokens_for: Callable
    ) -> None:
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, "lead-case-management")
        body = everything_to_everyone(participant_id, demo_site.SEATTLE)
        body["grants"] = [
            {
                "recipient_agency": "seattle-pd",
                "recipient_agency_type": "case_management",  # not what the registry says
                "categories": ["referral", "substance_use"],
                "purposes": ["care_coordination"],
            }
        ]
        cm = tokens_for("case_management", agency="lead-case-management")
        reply = await service.post("/v1/consents/preview", json=body, headers=cm)
        assert reply.status_code == 200, reply.text
        [recipient] = reply.json()["recipients"]
        assert recipient["recipient_agency_type"] == "police"
        assert recipient["never_shared"] == ["substance_use"]

    @pytest.mark.parametrize("recipient", ["nobody-we-know", "santa-fe-pd"])  # santa-fe-pd: another site's
    async def test_an_agency_not_in_the_site_is_named(
        self, service: httpx.AsyncClient, relations: Any, tokens_for: Callable, recipient: str
    ) -> None:
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, "lead-case-management")
        body = everything_to_everyone(participant_id, demo_site.SEATTLE)
        body["grants"] = [body["grants"][0], {**body["grants"][0], "recipient_agency": recipient}]
        cm = tokens_for("case_management", agency="lead-case-management")
        reply = await service.post("/v1/consents/preview", json=body, headers=cm)
        assert reply.status_code == 422
        assert reply.json()["field"] == "grants.1.recipient_agency"
        assert recipient in reply.json()["detail"]
