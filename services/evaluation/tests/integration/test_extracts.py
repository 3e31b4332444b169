"""Limited data set extracts: only under a recorded, current agreement naming the caller; unlinkable study ids,
months not dates; each release announced for the audit log."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import nats
import pytest

from divert_devstack.nats import NatsServer
from divert_devstack.testing import eventually

J = "seattle-king-county"


class TestLimitedDataSetExtracts:
    AGREEMENT = {
        "jurisdiction": J,
        "agreement_id": "DUA-2026-01",
        "recipient_agency": "lead-evaluator",
        "expires_on": "2028-01-01",
        "signed_document_sha256": "ab" * 32,
    }

    async def _extract(self, service: httpx.AsyncClient, tokens_for: Callable, agency: str = "lead-evaluator"):  # type: ignore[no-untyped-def]
        body = {"jurisdiction": J, "data_use_agreement_id": "DUA-2026-01", "year": 2026}
        return await service.post("/v1/evaluation/extracts", json=body, headers=tokens_for("evaluator", agency=agency))

    async def test_released_under_a_recorded_agreement_unlinkable_month_precision_and_announced(
        self, service: httpx.AsyncClient, seeded: int, tokens_for: Callable, module_nats: NatsServer
    ) -> None:
        manager = tokens_for("project_manager", agency="lead-project-manager")
        recorded = await service.post("/v1/evaluation/data-use-agreements", json=self.AGREEMENT, headers=manager)
        assert recorded.status_code == 201, recorded.text
        first, second = await self._extract(service, tokens_for), await self._extract(service, tokens_for)
        assert first.status_code == 201, first.text
        rows = first.json()["rows"]
        assert len(rows) == 27 and {r["referral_month"] for r in rows} == {"2026-10"}
        assert sum(r["enrolled"] for r in rows) == 15 and {r["intake_month"] for r in rows} == {"2026-10", None}
        assert "00000000-0000-4000" not in first.text  # no participant or referral id
        assert all(len(r["study_id"]) == 32 for r in rows)
        # A key per extract, thrown away: the same people get unrelated study ids each time.
        assert {r["study_id"] for r in rows}.isdisjoint(r["study_id"] for r in second.json()["rows"])
        announced = await _evaluation_events(module_nats)
        assert [
            e["data"]["data_use_agreement_id"] for e in announced if e["type"].endswith("LimitedDataSetExtracted.v1")
        ] == ["DUA-2026-01"] * 2

    async def test_no_agreement_for_the_caller_is_refused_like_no_agreement_at_all(
        self, service: httpx.AsyncClient, tokens_for: Callable
    ) -> None:
        other = await self._extract(service, tokens_for, agency="another-evaluator")
        unknown = await service.post(
            "/v1/evaluation/extracts",
            json={"jurisdiction": J, "data_use_agreement_id": "DUA-NONE", "year": 2026},
            headers=tokens_for("evaluator", agency="lead-evaluator"),
        )
        assert other.status_code == unknown.status_code == 422
        assert other.json()["detail"] == unknown.json()["detail"]
        assert other.json()["field"] == "data_use_agreement_id"

    @pytest.mark.parametrize(
        ("change", "field"),
        [({"expires_on": "2027-01-31"}, "expires_on"), ({"recipient_agency": "seattle-pd"}, "recipient_agency")],
    )
    async def test_an_expired_agreement_or_a_recipient_that_is_no_evaluator_is_refused(
        self, service: httpx.AsyncClient, tokens_for: Callable, change: dict, field: str
    ) -> None:
        body = {**self.AGREEMENT, "agreement_id": "DUA-BAD", **change}
        manager = tokens_for("project_manager", agency="lead-project-manager")
        reply = await service.post("/v1/evaluation/data-use-agreements", json=body, headers=manager)
        assert reply.status_code == 422 and reply.json()["field"] == field

    async def test_only_evaluators_extract(self, service: httpx.AsyncClient, tokens_for: Callable) -> None:
        body = {"jurisdiction": J, "data_use_agreement_id": "DUA-2026-01", "year": 2026}
        reply = await service.post("/v1/evaluation/extracts", json=body, headers=tokens_for("project_manager"))
        assert reply.status_code == 403


async def _evaluation_events(server: NatsServer) -> list[dict]:
    async def events() -> list[dict]:
        nc = await nats.connect(server.url)
        try:
            sub = await nc.jetstream().subscribe("lead.*.evaluation.>", ordered_consumer=True)
            found = []
            try:
                while True:
                    found.append(json.loads((await sub.next_msg(timeout=1)).data))
            except nats.errors.TimeoutError:
                return found
        finally:
            await nc.close()

    return await eventually(lambda: _at_least(events, 3))


async def _at_least(probe, n: int):  # type: ignore[no-untyped-def]
    found = await probe()
    return found if len(found) >= n else None
