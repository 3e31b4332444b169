"""Every agency type x category x purpose x consent state, decided by the running service: no unexpected permit."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from uuid import uuid4

import httpx

from divert_contracts.vocabulary import AGENCY_TYPES, CATEGORIES, PURPOSES

J = "seattle-king-county"
STATES = [
    "none",
    "draft",
    "active",
    "not_yet_effective",
    "expired",
    "revoked_whole",
    "revoked_for_this_recipient",
    "revoked_for_another_recipient",
    "irrevocable_2_35",
]
ORDINARY_PURPOSES = [p for p in PURPOSES if p != "BTG"]


def agency(agency_type: str) -> str:
    return f"agency-{agency_type}"


def expected(agency_type: str, category: str, purpose: str, state: str) -> str:
    """The rules of DESIGN §3 and §5, written out independently of the service's code."""
    if agency_type == "evaluator" or purpose == "BTG":
        return "deny"
    if category == "substance_use" and (agency_type in ("police", "prosecutor") or purpose == "diversion_monitoring"):
        return "deny"
    if state in ("active", "revoked_for_another_recipient"):
        return "permit"
    if state == "irrevocable_2_35":
        return "permit" if purpose == "diversion_monitoring" else "deny"
    return "deny"


def consent_for(participant_id: str, recipients: list[str], state: str) -> dict:
    irrevocable = state == "irrevocable_2_35"
    body = {
        "participant_id": participant_id,
        "jurisdiction": J,
        "grants": [
            {
                "recipient_agency": r,
                "categories": list(CATEGORIES),
                "purposes": ["diversion_monitoring"] if irrevocable else ORDINARY_PURPOSES,
                **({"irrevocable_until": "2029-01-01T00:00:00Z"} if irrevocable else {}),
            }
            for r in recipients
        ],
        "effective_at": "2020-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "signed_document_sha256": "ef" * 32,
    }
    if state == "draft":
        body["state"] = "draft"
    if state == "not_yet_effective":
        body |= {"effective_at": "2029-01-01T00:00:00Z", "expires_at": "2030-01-01T00:00:00Z"}
    if state == "expired":
        body |= {"effective_at": "2020-01-01T00:00:00Z", "expires_at": "2021-01-01T00:00:00Z"}
    return body


async def arrange(service: httpx.AsyncClient, cm: dict[str, str], state: str, requester: str) -> str:
    """A participant whose only consent is in `state` as seen by `requester`."""
    participant_id = str(uuid4())
    if state == "none":
        return participant_id
    recipients = [requester, "agency-someone-else"]
    created = await service.post("/v1/consents", json=consent_for(participant_id, recipients, state), headers=cm)
    assert created.status_code == 201, created.text
    consent_id = created.json()["consent_id"]
    revoke = {
        "revoked_whole": None,
        "revoked_for_this_recipient": requester,
        "revoked_for_another_recipient": "agency-someone-else",
    }
    if state in revoke:
        body = {"recipient_agency": revoke[state]} if revoke[state] else {}
        reply = await service.post(f"/v1/consents/{consent_id}/revocation", json=body, headers=cm)
        assert reply.status_code == 200, reply.text
    if state == "irrevocable_2_35":
        refused = await service.post(f"/v1/consents/{consent_id}/revocation", json={}, headers=cm)
        assert refused.status_code == 409  # and the grant stays in force
    return participant_id


async def test_the_decision_matrix_has_no_unexpected_permit(service: httpx.AsyncClient, tokens_for: Callable) -> None:
    cm = tokens_for("case_management", agency="lead-case-management")
    unexpected, checked = [], 0
    for state, agency_type in itertools.product(STATES, AGENCY_TYPES):
        participant_id = await arrange(service, cm, state, agency(agency_type))
        asks = list(itertools.product(CATEGORIES, PURPOSES))
        reply = await service.post(
            "/v1/access-decisions/batch",
            headers=tokens_for(agency_type, agency=agency(agency_type)),
            json={
                "requests": [
                    {
                        "participant_id": participant_id,
                        "jurisdiction": J,
                        "requester_agency": agency(agency_type),
                        "category": category,
                        "purpose": purpose,
                    }
                    for category, purpose in asks
                ]
            },
        )
        assert reply.status_code == 200, reply.text
        for (category, purpose), decided in zip(asks, reply.json()["decisions"], strict=True):
            checked += 1
            if decided["decision"] != expected(agency_type, category, purpose, state):
                unexpected.append((state, agency_type, category, purpose, decided["decision"]))
    assert checked == len(STATES) * len(AGENCY_TYPES) * len(CATEGORIES) * len(PURPOSES)
    assert unexpected == []
