"""Issue 10, item 12 (consent side): a participant's consents, newest first, a page at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest

J = "seattle-king-county"
CM = "lead-case-management"


def draft(participant_id: str) -> dict[str, Any]:
    return {
        "participant_id": participant_id,
        "jurisdiction": J,
        "grants": [{"recipient_agency": "kc-prosecutor", "categories": ["assessment"], "purposes": ["defense"]}],
        "effective_at": "2026-01-01T00:00:00Z",
        "expires_at": "2030-01-01T00:00:00Z",
        "state": "draft",
    }


@pytest.fixture
def cm(tokens_for: Callable) -> dict[str, str]:
    return tokens_for("case_management", agency=CM)


async def page(service: httpx.AsyncClient, auth: dict[str, str], participant_id: str, **params: Any) -> httpx.Response:
    return await service.get(
        "/v1/consents", params={"participant_id": participant_id, "jurisdiction": J, **params}, headers=auth
    )


class TestPaging:
    async def test_pages_walk_every_consent_once_newest_first(
        self, service: httpx.AsyncClient, relations: Any, cm: dict[str, str]
    ) -> None:
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, CM)
        recorded = []
        for _ in range(5):
            created = await service.post("/v1/consents", json=draft(participant_id), headers=cm)
            recorded.append(created.json()["consent_id"])
        seen, cursor, sizes = [], None, []
        while True:
            reply = await page(service, cm, participant_id, limit=2, **({"cursor": cursor} if cursor else {}))
            assert reply.status_code == 200, reply.text
            items = reply.json()["items"]
            sizes.append(len(items))
            seen += [c["consent_id"] for c in items]
            cursor = reply.json()["next_cursor"]
            if cursor is None:
                break
        assert sizes == [2, 2, 1]
        assert seen == list(reversed(recorded))
        whole = (await page(service, cm, participant_id)).json()
        assert [c["consent_id"] for c in whole["items"]] == seen and whole["next_cursor"] is None

    @pytest.mark.parametrize(
        ("params", "field"),
        [({"limit": 201}, "limit"), ({"limit": 0}, "limit"), ({"cursor": "not a cursor!"}, "cursor")],
    )
    async def test_bad_paging_is_named(
        self, service: httpx.AsyncClient, relations: Any, cm: dict[str, str], params: dict, field: str
    ) -> None:
        participant_id = str(uuid4())
        await relations.hand_off(participant_id, CM)
        reply = await page(service, cm, participant_id, **params)
        assert reply.status_code == 422
        assert reply.json()["field"] == field
