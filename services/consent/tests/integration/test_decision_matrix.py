"""Every demo agency x category x purpose x consent state, decided by the running service: no unexpected permit.

Each participant is held by `lead-case-management` (its hand-off) with a charge held by `kc-prosecutor`, except in
the state `none_unrelated`, where only its referral is known, and `never_referred`, an id no referral of the site
ever named. The site's MOU is the demo default.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx

from divert_contracts.vocabulary import CATEGORIES, PURPOSES
from divert_devstack import demo_site

J = demo_site.SEATTLE
HOLDER = "lead-case-management"
AGENCIES = demo_site.AGENCIES[J]
STATES = [
    "never_referred",
    "none_unrelated",
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
# The demo MOU, written out independently of the site file: (agency, category, purpose) it opens.
MOU_BY_RELATION = {
    (HOLDER, "identity", "care_coordination"),
    (HOLDER, "referral", "care_coordination"),
    ("kc-prosecutor", "referral", "diversion_monitoring"),
}
MOU_BY_NAME = {
    ("lead-project-manager", "identity", "program_operations"),
    ("lead-project-manager", "referral", "program_operations"),
}


def expected(agency: str, agency_type: str, category: str, purpose: str, state: str) -> str:
    """The rules of DESIGN §3 and §5, written out independently of the service's code."""
    if agency_type == "evaluator" or purpose == "BTG" or state == "never_referred":
        return "deny"  # an id no referral of the site named is no participant of it: no site grant reaches it
    if category == "substance_use" and (agency_type in ("police", "prosecutor") or purpose == "diversion_monitoring"):
        return "deny"
    if (agency, category, purpose) in MOU_BY_NAME:
        return "permit"
    if state != "none_unrelated" and (agency, category, purpose) in MOU_BY_RELATION:
        return "permit"
    if state in ("active", "revoked_for_another_recipient"):
        return "permit"
    if state == "irrevocable_2_35":
        return "permit" if purpose == "diversion_monitoring" else "deny"
    return "deny"


def someone_else(requester: str) -> str:
    return "kc-public-defender" if requester != "kc-public-defender" else "seattle-pd"


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


async def arrange(
    service: httpx.AsyncClient, cm: dict[str, str], participant_id: str, state: str, requester: str
) -> None:
    """The participant's only consent is in `state` as seen by `requester`."""
    if state.startswith("none") or state == "never_referred":
        return
    other = someone_else(requester)
    created = await service.post(
        "/v1/consents", json=consent_for(participant_id, [requester, other], state), headers=cm
    )
    assert created.status_code == 201, created.text
    consent_id = created.json()["consent_id"]
    revoke = {"revoked_whole": None, "revoked_for_this_recipient": requester, "revoked_for_another_recipient": other}
    if state in revoke:
        body = {"recipient_agency": revoke[state]} if revoke[state] else {}
        reply = await service.post(f"/v1/consents/{consent_id}/revocation", json=body, headers=cm)
        assert reply.status_code == 200, reply.text
    if state == "irrevocable_2_35":
        refused = await service.post(f"/v1/consents/{consent_id}/revocation", json={}, headers=cm)
        assert refused.status_code == 409  # and the grant stays in force


async def test_the_decision_matrix_has_no_unexpected_permit(
    service: httpx.AsyncClient, tokens_for: Callable, relations: Any
) -> None:
    cm = tokens_for("case_management", agency=HOLDER)
    cells = {(state, agency): str(uuid4()) for state, (agency, _) in itertools.product(STATES, AGENCIES)}
    referred = [p for (state, _), p in cells.items() if state != "never_referred"]
    related = [p for (state, _), p in cells.items() if state not in ("never_referred", "none_unrelated")]
    await asyncio.gather(*(relations.refer(p) for p in referred))
    await asyncio.gather(*(relations.hand_off(p, HOLDER) for p in related))
    await asyncio.gather(*(relations.hold_charge(p, "kc-prosecutor") for p in related))
    unexpected, checked = [], 0
    for state, (agency, agency_type) in itertools.product(STATES, AGENCIES):
        participant_id = cells[(state, agency)]
        await arrange(service, cm, participant_id, state, agency)
        asks = list(itertools.product(CATEGORIES, PURPOSES))
        reply = await service.post(
            "/v1/access-decisions/batch",
            headers=tokens_for(agency_type, agency=agency),
            json={
                "requests": [
                    {
                        "participant_id": participant_id,
                        "jurisdiction": J,
                        "requester_agency": agency,
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
            if decided["decision"] != expected(agency, agency_type, category, purpose, state):
                unexpected.append((state, agency, category, purpose, decided["decision"]))
    assert checked == len(STATES) * len(AGENCIES) * len(CATEGORIES) * len(PURPOSES)
    print(f"decision matrix: {checked} cells")
    assert unexpected == []
