"""The dispatcher settles a claimed batch in one statement: each message's status, its attempt's log row, and each
endpoint's health, as the former transaction per message did (one endpoint answering, one failing, one batch)."""

from __future__ import annotations

import sqlalchemy as sa

from divert_gateway.domain import webhooks as rules
from tests import test_webhooks_delivery as base
from tests.test_webhooks_delivery import Harness
from tests.webhook_receiver import Receiver

harness, receiver = base.harness, base.receiver  # the delivery tests' fixtures


async def _rows(h: Harness, sql: str, ids: list[str]) -> list[tuple]:
    async with h.app.state.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(sa.text(sql), {"ids": ids})]


async def test_one_batch_settles_deliveries_failures_and_health(harness: Harness, receiver: Receiver) -> None:
    failing = Receiver()
    try:
        failing.answer = lambda body: 500
        good = (await harness.endpoint(receiver))["endpoint_id"]
        bad = (await harness.endpoint(failing))["endpoint_id"]
        events = await harness.publish(n=3)
        now = harness.clock.now()
        assert await harness.dispatcher.step() >= 6  # one claim, one settle
        messages = await _rows(
            harness,
            "SELECT endpoint_id::text, status, attempts, next_attempt_at FROM webhook_messages "
            "WHERE endpoint_id::text = ANY(:ids) ORDER BY 1, 2",
            [good, bad],
        )
        retry = rules.next_retry(1, now)
        assert sorted(messages) == sorted([(good, "delivered", 1, None)] * 3 + [(bad, "pending", 1, retry)] * 3)
        attempts = await _rows(
            harness,
            "SELECT endpoint_id::text, event_id::text, outcome, status_code, next_retry_at, attempted_at "
            "FROM webhook_attempts WHERE endpoint_id::text = ANY(:ids)",
            [good, bad],
        )
        expected = [(good, e, "delivered", 204, None, now) for e in events]
        expected += [(bad, e, "failed", 500, retry, now) for e in events]
        assert sorted(attempts) == sorted(expected)
        health = await _rows(
            harness,
            "SELECT endpoint_id::text, failing_since FROM webhook_endpoints WHERE endpoint_id::text = ANY(:ids)",
            [good, bad],
        )
        assert sorted(health) == sorted([(good, None), (bad, now)])
        assert sorted(receiver.ids()) == sorted(events)
    finally:
        failing.close()
