"""Legacy and post-diversion cases, reviews, court dates and the prosecutor's queue, on real PostgreSQL and NATS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from divert_devstack.testing import eventually, publish_as
from divert_kernel.clock import FixedClock
from divert_kernel.db import make_engine

J = "seattle-king-county"


async def known_participant(
    service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, auth: dict[str, str]
) -> tuple[str, str]:
    referral_id, participant_id = str(uuid4()), str(uuid4())
    await publish_as(bus, "referral", offer(referral_id, participant_id))

    async def held() -> bool:
        return (await service.get(f"/v1/held-charges/{referral_id}", headers=auth)).status_code == 200

    await eventually(held)
    return referral_id, participant_id


def case_body(participant_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "participant_id": participant_id,
        "jurisdiction": J,
        "kind": "post_diversion",
        "docket_number": "26-1-01234-5 SEA",
        "court": "King County District Court",
        "charges": [{"code": "23H", "description": "Theft 3"}],
        "filed_at": "2026-11-15",
    }
    return body | overrides


@pytest.fixture
def prosecutor(tokens_for: Callable) -> dict[str, str]:
    return tokens_for("prosecutor", agency="kc-prosecutor")


class TestCases:
    async def test_a_post_diversion_arrest_is_registered_reviewed_and_kept_with_its_history(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, prosecutor: dict[str, str], clock: FixedClock
    ) -> None:
        clock.at = datetime(2026, 11, 20, tzinfo=UTC)
        _, participant_id = await known_participant(service, bus, offer, prosecutor)
        created = await service.post("/v1/cases", json=case_body(participant_id), headers=prosecutor)
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        first = await service.post(
            f"/v1/cases/{case_id}/reviews",
            headers=prosecutor,
            json={"decision": "continue_to_monitor", "rationale": "Engaged with case manager."},
        )
        assert first.status_code == 201, first.text
        second = await service.post(
            f"/v1/cases/{case_id}/reviews",
            headers=prosecutor,
            json={"decision": "dismiss_without_prejudice", "rationale": "Plan goals met."},
        )
        case = second.json()
        assert [r["decision"] for r in case["reviews"]] == ["dismiss_without_prejudice", "continue_to_monitor"]
        assert case["status"] == "dismissed"

    async def test_a_participant_not_yet_heard_of_is_asked_to_retry_naming_the_field(
        self, service: httpx.AsyncClient, prosecutor: dict[str, str]
    ) -> None:
        reply = await service.post("/v1/cases", json=case_body(str(uuid4())), headers=prosecutor)
        assert reply.status_code == 409 and reply.json()["field"] == "participant_id"
        assert reply.headers["content-type"] == "application/problem+json"
        assert int(reply.headers["Retry-After"]) > 0

    @pytest.mark.parametrize(
        ("change", "field"),
        [({"kind": "civil"}, "kind"), ({"charges": []}, "charges"), ({"filed_at": "yesterday"}, "filed_at")],
    )
    async def test_bad_cases_are_refused(
        self, service: httpx.AsyncClient, prosecutor: dict[str, str], change: dict, field: str
    ) -> None:
        reply = await service.post("/v1/cases", json=case_body(str(uuid4()), **change), headers=prosecutor)
        assert reply.status_code == 422 and reply.json()["field"] == field

    async def test_a_review_outside_the_five_options_is_refused_and_changes_nothing(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, prosecutor: dict[str, str]
    ) -> None:
        _, participant_id = await known_participant(service, bus, offer, prosecutor)
        case_id = (await service.post("/v1/cases", json=case_body(participant_id), headers=prosecutor)).json()[
            "case_id"
        ]
        reply = await service.post(
            f"/v1/cases/{case_id}/reviews", headers=prosecutor, json={"decision": "file_charges", "rationale": "x"}
        )
        assert reply.status_code == 422 and reply.json()["field"] == "decision"
        assert (await service.get(f"/v1/cases/{case_id}", headers=prosecutor)).json()["reviews"] == []

    async def test_only_the_prosecutor_registers_cases(self, service: httpx.AsyncClient, tokens_for: Callable) -> None:
        reply = await service.post("/v1/cases", json=case_body(str(uuid4())), headers=tokens_for("police"))
        assert reply.status_code == 403


class TestCourtDates:
    async def test_a_new_hearing_in_the_past_is_refused(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, prosecutor: dict[str, str], clock: FixedClock
    ) -> None:
        clock.at = datetime(2026, 11, 20, tzinfo=UTC)
        _, participant_id = await known_participant(service, bus, offer, prosecutor)
        case_id = (await service.post("/v1/cases", json=case_body(participant_id), headers=prosecutor)).json()[
            "case_id"
        ]
        past = await service.post(
            f"/v1/cases/{case_id}/court-dates",
            headers=prosecutor,
            json={"scheduled_for": "2026-11-19T09:00:00Z", "hearing": "review"},
        )
        assert past.status_code == 422 and past.json()["field"] == "scheduled_for"
        ahead = await service.post(
            f"/v1/cases/{case_id}/court-dates",
            headers=prosecutor,
            json={"scheduled_for": "2026-11-27T09:00:00Z", "hearing": "review"},
        )
        assert ahead.status_code == 201, ahead.text
        dates = await service.get(f"/v1/participants/{participant_id}/court-dates", headers=prosecutor)
        assert [d["hearing"] for d in dates.json()] == ["review"]

    async def test_case_managers_read_court_dates_only_through_the_gate(
        self,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        offer: Callable,
        prosecutor: dict[str, str],
        tokens_for: Callable,
    ) -> None:
        _, participant_id = await known_participant(service, bus, offer, prosecutor)
        # This module runs without a consent service: the read is refused, never served.
        reply = await service.get(
            f"/v1/participants/{participant_id}/court-dates", headers=tokens_for("case_management")
        )
        assert reply.status_code == 503


class TestTheQueue:
    async def test_lists_what_needs_the_prosecutor_most_pressing_first(
        self,
        service: httpx.AsyncClient,
        app: FastAPI,
        bus: nats.NATS,
        offer: Callable,
        lapse: Callable,
        prosecutor: dict[str, str],
        clock: FixedClock,
    ) -> None:
        clock.at = datetime(2026, 11, 28, tzinfo=UTC)  # the offers' deadline (12-01) is within 7 days
        soon, participant_id = await known_participant(service, bus, offer, prosecutor)
        case_id = (await service.post("/v1/cases", json=case_body(participant_id), headers=prosecutor)).json()[
            "case_id"
        ]
        await service.post(
            f"/v1/cases/{case_id}/court-dates",
            headers=prosecutor,
            json={"scheduled_for": "2026-12-03T09:00:00Z", "hearing": "arraignment"},
        )
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"jurisdiction": J, "limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await service.get("/v1/prosecution/queue", params=params, headers=prosecutor)).json()
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        kinds = {(i["kind"], i["id"]) for i in items}
        assert ("deadline_within_7_days", soon) in kinds
        assert ("court_date_within_14_days", case_id) in kinds
        assert ("case_awaiting_review", case_id) in kinds
        ranks = [
            "lapsed_awaiting_decision",
            "deadline_within_7_days",
            "court_date_within_14_days",
            "case_awaiting_review",
        ]
        assert [ranks.index(i["kind"]) for i in items] == sorted(ranks.index(i["kind"]) for i in items)

        clock.at = datetime(2026, 12, 2, 8, tzinfo=UTC)  # local midnight in Seattle: the window has passed
        await lapse(app)
        first = (await service.get("/v1/prosecution/queue", params={"jurisdiction": J}, headers=prosecutor)).json()
        assert first["items"][0]["kind"] == "lapsed_awaiting_decision"


class TestAParticipantNotYetHeardOf:
    async def test_reads_the_same_whether_known_elsewhere_or_nowhere_and_succeeds_once_heard_of(
        self, service: httpx.AsyncClient, bus: nats.NATS, offer: Callable, prosecutor: dict[str, str]
    ) -> None:
        elsewhere = str(uuid4())
        await publish_as(bus, "referral", offer(str(uuid4()), elsewhere), jurisdiction="santa-fe")
        await known_participant(service, bus, offer, prosecutor)  # in order: the Santa Fe offer was taken in
        replies = [
            await service.post("/v1/cases", json=case_body(participant_id), headers=prosecutor)
            for participant_id in (elsewhere, str(uuid4()))
        ]
        assert {r.status_code for r in replies} == {409}
        assert replies[0].json() == replies[1].json()
        assert replies[0].headers["Retry-After"] == replies[1].headers["Retry-After"]

        later = str(uuid4())
        early = await service.post("/v1/cases", json=case_body(later), headers=prosecutor)
        assert early.status_code == 409
        await publish_as(bus, "referral", offer(str(uuid4()), later))

        async def registered() -> bool:
            return (await service.post("/v1/cases", json=case_body(later), headers=prosecutor)).status_code == 201

        await eventually(registered)


class TestFollowUp:
    async def review(
        self, service: httpx.AsyncClient, auth: dict[str, str], case_id: str, **body: Any
    ) -> httpx.Response:
        payload = {"decision": "continue_to_monitor", "rationale": "Engaged; check back."} | body
        return await service.post(f"/v1/cases/{case_id}/reviews", json=payload, headers=auth)

    async def test_continue_to_monitor_comes_back_thirty_local_days_on_and_the_events_say_so(
        self,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        offer: Callable,
        prosecutor: dict[str, str],
        clock: FixedClock,
        database: str,
    ) -> None:
        clock.at = datetime(2026, 11, 21, 5, tzinfo=UTC)  # still 2026-11-20 in Seattle
        _, participant_id = await known_participant(service, bus, offer, prosecutor)
        case_id = (await service.post("/v1/cases", json=case_body(participant_id), headers=prosecutor)).json()[
            "case_id"
        ]
        reviewed = await self.review(service, prosecutor, case_id)
        assert reviewed.status_code == 201, reviewed.text
        assert reviewed.json()["reviews"][0]["follow_up_on"] == "2026-12-20"
        events = await stored_events(database, f"case-{case_id}")
        assert events[0]["agency"] == "kc-prosecutor"
        assert events[1]["follow_up_on"] == "2026-12-20"

    async def test_the_queue_shows_a_follow_up_due_within_the_week_until_a_later_review(
        self,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        offer: Callable,
        prosecutor: dict[str, str],
        clock: FixedClock,
    ) -> None:
        clock.at = datetime(2026, 11, 20, 18, tzinfo=UTC)
        _, participant_id = await known_participant(service, bus, offer, prosecutor)
        case_id = (await service.post("/v1/cases", json=case_body(participant_id), headers=prosecutor)).json()[
            "case_id"
        ]
        assert (await self.review(service, prosecutor, case_id, follow_up_on="2026-12-10")).status_code == 201

        async def follow_ups() -> set[str]:
            page = await service.get(
                "/v1/prosecution/queue", params={"jurisdiction": J, "limit": "200"}, headers=prosecutor
            )
            return {i["id"] for i in page.json()["items"] if i["kind"] == "follow_up_due"}

        assert case_id not in await follow_ups()
        clock.at = datetime(2026, 12, 3, 20, tzinfo=UTC)  # 12-03 in Seattle: due within 7 days
        assert case_id in await follow_ups()
        assert (await self.review(service, prosecutor, case_id, decision="decline_to_file")).status_code == 201
        assert case_id not in await follow_ups()

    @pytest.mark.parametrize(
        "body",
        [
            {"decision": "decline_to_file", "follow_up_on": "2026-12-20"},
            {"follow_up_on": "2026-11-20"},
            {"follow_up_on": "2030-01-01"},
            {"follow_up_on": "soon"},
        ],
    )
    async def test_a_follow_up_date_out_of_place_is_refused_naming_it_and_changes_nothing(
        self,
        service: httpx.AsyncClient,
        bus: nats.NATS,
        offer: Callable,
        prosecutor: dict[str, str],
        clock: FixedClock,
        body: dict[str, str],
    ) -> None:
        clock.at = datetime(2026, 11, 21, 5, tzinfo=UTC)
        _, participant_id = await known_participant(service, bus, offer, prosecutor)
        case_id = (await service.post("/v1/cases", json=case_body(participant_id), headers=prosecutor)).json()[
            "case_id"
        ]
        reply = await self.review(service, prosecutor, case_id, **body)
        assert reply.status_code == 422 and reply.json()["field"] == "follow_up_on", reply.text
        assert (await service.get(f"/v1/cases/{case_id}", headers=prosecutor)).json()["reviews"] == []


async def stored_events(database: str, stream_id: str) -> list[dict[str, Any]]:
    engine = make_engine(database)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT data FROM events WHERE stream_id = :s ORDER BY version"), {"s": stream_id}
            )
            return [r[0] for r in rows]
    finally:
        await engine.dispose()
