"""Finding 1 (consent side): who holds a participant comes from the hand-off and charge events, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx

J = "seattle-king-county"


async def consents_of(service: httpx.AsyncClient, auth: dict[str, str], participant_id: str) -> int:
    reply = await service.get(
        "/v1/consents", params={"participant_id": participant_id, "jurisdiction": J}, headers=auth
    )
    return reply.status_code


class TestHandoffProvider:
    async def test_the_provider_named_in_the_hand_off_holds_the_participant(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        participant_id = str(uuid4())
        lead = tokens_for("case_management", agency="lead-case-management")
        assert await consents_of(service, lead, participant_id) == 403  # nobody holds it before a hand-off
        await relations.hand_off(participant_id, "lead-case-management")
        assert await consents_of(service, lead, participant_id) == 200

    async def test_a_later_hand_off_replaces_the_provider(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        participant_id = str(uuid4())
        lead = tokens_for("case_management", agency="lead-case-management")
        evergreen = tokens_for("case_management", agency="evergreen-cm")
        await relations.hand_off(participant_id, "lead-case-management")
        await relations.hand_off(participant_id, "evergreen-cm")
        assert await consents_of(service, evergreen, participant_id) == 200
        assert await consents_of(service, lead, participant_id) == 403
        assert not await relations.holds(participant_id, "handoff_provider", "lead-case-management")

    async def test_an_older_hand_off_arriving_late_changes_nothing(
        self, service: httpx.AsyncClient, relations: Any
    ) -> None:
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, "evergreen-cm")
        await relations.hand_off(participant_id, "lead-case-management", at=datetime.now(UTC) - timedelta(days=1))
        assert await relations.holds(participant_id, "handoff_provider", "evergreen-cm")
        assert not await relations.holds(participant_id, "handoff_provider", "lead-case-management")

    async def test_a_hand_off_naming_no_provider_makes_no_holder(
        self, service: httpx.AsyncClient, tokens_for: Callable, relations: Any
    ) -> None:
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, None)
        for agency in ("lead-case-management", "evergreen-cm"):
            assert await consents_of(service, tokens_for("case_management", agency=agency), participant_id) == 403

    async def test_a_hand_off_to_an_agency_the_site_does_not_list_is_dead_lettered(
        self, service: httpx.AsyncClient, relations: Any
    ) -> None:
        participant_id = str(uuid4())
        event_id = await relations.hand_off(participant_id, "seattle-pd", wait=False)  # police are no provider
        await relations.dead_lettered(event_id)
        assert not await relations.holds(participant_id, "handoff_provider", "seattle-pd")


class TestChargeHolder:
    async def test_the_office_holding_a_charge_is_related(self, service: httpx.AsyncClient, relations: Any) -> None:
        participant_id = str(uuid4())
        await relations.hold_charge(participant_id, "kc-prosecutor")
        assert await relations.holds(participant_id, "charge_holder", "kc-prosecutor")
