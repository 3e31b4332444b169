"""500 entitled events through a receiver that fails half its requests at random, on the injected clock: each
arrives at least once, none is lost, and the delivery log accounts for every attempt."""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from tests.test_webhooks_delivery import POLICE, Harness, harness, receiver  # noqa: F401 - the fixtures, by name
from tests.webhook_receiver import Receiver


async def test_500_events_each_arrive_at_least_once_through_a_receiver_failing_half(
    harness: Harness,  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    chance = random.Random(11)
    receiver.answer = lambda body: 204 if chance.random() < 0.5 else 500
    created = await harness.endpoint(receiver)
    ids = await harness.publish(n=500)
    await harness.drain()
    # 8 attempts at p >= 1/2 leave about 2 in 500 exhausted: nothing is lost, they stay in the log as failed and
    # are replayed (a few rounds at most; the request order, hence the random answers, varies between runs).
    for _ in range(5):
        if not await _count(harness, "webhook_messages", created, "AND status = 'failed'"):
            break
        await harness.http.post(
            f"/v1/webhook-endpoints/{created['endpoint_id']}/replay",
            json={"since": (harness.clock.now() - timedelta(days=30)).isoformat()},
            headers=await harness.as_(POLICE),
        )
        await harness.drain()
    assert set(ids) <= set(receiver.ids())
    # The delivery log accounts for every attempt: one row with a status code per request the receiver answered
    # (a connection that failed is logged without one), none unverified.
    answered = await _count(harness, "webhook_attempts", created, "AND status_code IS NOT NULL")
    assert answered == receiver.requests and receiver.unverified == 0


async def _count(
    harness: Harness,  # noqa: F811
    table: str,
    created: dict,
    where: str = "",
) -> int:
    async with harness.app.state.engine.connect() as conn:
        return (
            await conn.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE endpoint_id = CAST(:e AS uuid) {where}"),
                {"e": created["endpoint_id"]},
            )
        ).scalar()
