"""Issue 10, item 11: the consent preview says exactly what the gate decides, for every demo agency of both sites.

The recipient's agency type comes from the site's agency registry; a type in the request body is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest

from divert_contracts.vocabulary import CATEGORIES, DEFAULT_PURPOSE, PURPOSES
from divert_devstack import demo_site

GRANTED = [p for p in PURPOSES if p != "BTG"]  # a consent never grants break-glass
HOLDERS = {demo_site.SEATTLE: "lead-case-management", demo_site.SANTA_FE: "santa-fe-cm"}
# The purposes each agency is granted: the one its kind of agency reads for, or every purpose a consent can name.
PURPOSES_GRANTED: dict[str, Callable[[str], list[str]]] = {
    "own": lambda agency_type: [DEFAULT_PURPOSE[agency_type]],
    "every": lambda _: GRANTED,
}


def everything_to_everyone(participant_id: str, jurisdiction: str, purposes: str = "every") -> dict[str, Any]:
    """A consent naming every agency of the site, for every category and its purposes."""
    return {
        "participant_id": participant_id,
        "jurisdiction": jurisdiction,
        "grants": [
            {"recipient_agency": agency, "categories": list(CATEGORIES), "purposes": PURPOSES_GRANTED[purposes](kind)}
            for agency, kind in demo_site.AGENCIES[jurisdiction]
        ],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "ef" * 32,
    }


@pytest.fixture(scope="module")
async def recorded(
    service: httpx.AsyncClient, relations: Any, tokens_for: Callable
) -> dict[tuple[str, str], tuple[str, dict]]:
    """Per jurisdiction and purpose set: a participant held by the site's provider, its consent recorded, and the
    preview of that consent."""
    out = {}
    for jurisdiction, holder in HOLDERS.items():
        for purposes in PURPOSES_GRANTED:
            participant_id = str(uuid4())
            await relations.hand_off(participant_id, holder, jurisdiction=jurisdiction)
            auth = tokens_for("case_management", agency=holder, jurisdictions=[jurisdiction])
            body = everything_to_everyone(participant_id, jurisdiction, purposes)
            preview = await service.post("/v1/consents/preview", json=body, headers=auth)
            assert preview.status_code == 200, preview.text
            created = await service.post("/v1/consents", json=body, headers=auth)
            assert created.status_code == 201, created.text
            previews = {r["recipient_agency"]: r for r in preview.json()["recipients"]}
            out[(jurisdiction, purposes)] = (participant_id, previews)
    return out


async def permits(
    service: httpx.AsyncClient,
    auth: dict[str, str],
    agency: str,
    participant_id: str,
    jurisdiction: str,
    category: str,
    purpose: str,
) -> bool:
    """What the gate decides when the agency itself asks to read this participant's category for a purpose."""
    body = {
        "participant_id": participant_id,
        "jurisdiction": jurisdiction,
        "requester_agency": agency,
        "category": category,
        "purpose": purpose,
    }
    reply = await service.post("/v1/access-decisions", json=body, headers=auth)
    assert reply.status_code == 200, reply.text
    return bool(reply.json()["decision"] == "permit")


DEMO_AGENCIES = [
    (j, a, t, p) for j, agencies in demo_site.AGENCIES.items() for a, t in agencies for p in PURPOSES_GRANTED
]


class TestPreviewMatchesTheGate:
    @pytest.mark.parametrize(("jurisdiction", "agency", "agency_type", "purposes"), DEMO_AGENCIES)
    async def test_each_category_reads_as_the_gate_decides(
        self,
        service: httpx.AsyncClient,
        tokens_for: Callable,
        recorded: dict[tuple[str, str], tuple[str, dict]],
        jurisdiction: str,
        agency: str,
        agency_type: str,
        purposes: str,
    ) -> None:
        participant_id, previews = recorded[(jurisdiction, purposes)]
        statement = previews[agency]
        auth = tokens_for(agency_type, agency=agency, jurisdictions=[jurisdiction])
        granted = PURPOSES_GRANTED[purposes](agency_type)
        decided = {
            c: {p for p in granted if await permits(service, auth, agency, participant_id, jurisdiction, c, p)}
            for c in CATEGORIES
        }
        assert statement["shares"] == [c for c in CATEGORIES if decided[c]]
        assert statement["never_shared"] == [c for c in CATEGORIES if not decided[c]]
        told = {c["category"]: c for c in statement["categories"]}
        assert {c: set(told[c]["shared_for"]) for c in CATEGORIES} == decided
        assert {c: set(told[c]["never_for"]) for c in CATEGORIES} == {c: set(granted) - decided[c] for c in CATEGORIES}
        assert statement["recipient_agency_type"] == agency_type


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
