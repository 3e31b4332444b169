"""Finding 4: break-glass is for the case-management provider holding the participant, never for police,
prosecutors, defenders or the project manager, never for substance_use, with a written reason and a short expiry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest

J = "seattle-king-county"
HOLDER = "lead-case-management"
REASON = "Participant found unresponsive; EMS asks for current mental-health medications."


def glass(participant_id: str, categories: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    body = {"participant_id": participant_id, "jurisdiction": J, "categories": categories or ["mental_health"]}
    return body | {"reason": REASON, "minutes": 30} | overrides


def staff(tokens_for: Callable, agency_type: str, agency: str) -> dict[str, str]:
    return tokens_for(agency_type, agency=agency) | {"Divert-Acting-Person": "staff-0042"}


async def decide(
    service: httpx.AsyncClient, auth: dict[str, str], agency: str, participant_id: str, **ask: str
) -> dict:
    body = {"participant_id": participant_id, "jurisdiction": J, "requester_agency": agency} | ask
    reply = await service.post("/v1/access-decisions", json=body, headers=auth)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


@pytest.fixture
async def held(relations: Any) -> str:
    participant_id = str(uuid4())
    await relations.hand_off(participant_id, HOLDER)
    return participant_id


class TestWhoMayBreakTheGlass:
    async def test_the_holding_provider_may_and_each_permit_is_flagged(
        self, service: httpx.AsyncClient, tokens_for: Callable, held: str
    ) -> None:
        responder = staff(tokens_for, "case_management", HOLDER)
        invoked = await service.post("/v1/break-glass", headers=responder, json=glass(held))
        assert invoked.status_code == 201, invoked.text
        emergency = await decide(service, responder, HOLDER, held, category="mental_health", purpose="BTG")
        assert emergency["decision"] == "permit" and emergency["flags"] == ["break_glass"]
        assert emergency["basis"] == {"kind": "break_glass", "id": invoked.json()["break_glass_id"]}
        ordinary = await decide(service, responder, HOLDER, held, category="mental_health", purpose="care_coordination")
        assert ordinary["decision"] == "deny"

    @pytest.mark.parametrize(
        ("agency_type", "agency"),
        [
            ("police", "seattle-pd"),
            ("prosecutor", "kc-prosecutor"),
            ("defender", "kc-public-defender"),
            ("project_manager", "lead-project-manager"),
        ],
    )
    async def test_no_other_agency_type_may_declare_it_or_read_by_it(
        self, service: httpx.AsyncClient, tokens_for: Callable, held: str, agency_type: str, agency: str
    ) -> None:
        caller = staff(tokens_for, agency_type, agency)
        refused = await service.post("/v1/break-glass", headers=caller, json=glass(held, ["assessment"]))
        assert refused.status_code == 403
        decided = await decide(service, caller, agency, held, category="assessment", purpose="BTG")
        assert decided["decision"] == "deny"

    async def test_another_provider_is_answered_as_for_an_unknown_participant(
        self, service: httpx.AsyncClient, tokens_for: Callable, held: str
    ) -> None:
        other = staff(tokens_for, "case_management", "evergreen-cm")
        known = await service.post("/v1/break-glass", headers=other, json=glass(held))
        unknown = await service.post("/v1/break-glass", headers=other, json=glass(str(uuid4())))
        assert known.status_code == 403
        assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
        decided = await decide(service, other, "evergreen-cm", held, category="mental_health", purpose="BTG")
        assert decided["decision"] == "deny"


class TestWhatItOpens:
    async def test_substance_use_is_refused_naming_the_field_and_never_permitted(
        self, service: httpx.AsyncClient, tokens_for: Callable, held: str
    ) -> None:
        responder = staff(tokens_for, "case_management", HOLDER)
        refused = await service.post(
            "/v1/break-glass", headers=responder, json=glass(held, ["mental_health", "substance_use"])
        )
        assert refused.status_code == 422 and refused.json()["field"] == "categories"
        decided = await decide(service, responder, HOLDER, held, category="substance_use", purpose="BTG")
        assert decided["decision"] == "deny"

    @pytest.mark.parametrize(("change", "field"), [({"reason": "urgent"}, "reason"), ({"minutes": 90}, "minutes")])
    async def test_without_a_reason_or_beyond_an_hour_it_is_refused(
        self, service: httpx.AsyncClient, tokens_for: Callable, held: str, change: dict, field: str
    ) -> None:
        responder = staff(tokens_for, "case_management", HOLDER)
        reply = await service.post("/v1/break-glass", headers=responder, json=glass(held) | change)
        assert reply.status_code == 422 and reply.json()["field"] == field

    async def test_someone_must_be_named(self, service: httpx.AsyncClient, tokens_for: Callable, held: str) -> None:
        anonymous = tokens_for("case_management", agency=HOLDER)
        reply = await service.post("/v1/break-glass", headers=anonymous, json=glass(held))
        assert reply.status_code == 422 and reply.json()["field"] == "Divert-Acting-Person"
