"""Per-agency NATS feeds: every entitled, permitted event also goes to `feeds.<jurisdiction>.<agency>.<EventType>`,
with `Nats-Msg-Id: <event id>:<agency>` (JetStream drops a republished duplicate). The streams and the partners'
credentials for these subjects are set up beside them (issue 11, item 3); until a stream captures a subject, the
publish is not acknowledged and the message is retried on the webhook schedule, then left `failed`."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_gateway.delivery import decide
from divert_gateway.delivery.decide import Mint
from divert_gateway.delivery.loop import poll_forever
from divert_gateway.domain import webhooks as rules
from divert_kernel.clock import Clock
from divert_kernel.gate import ConsentGate

log = logging.getLogger("divert.gateway.feeds")

_CLAIM = sa.text(
    """
    UPDATE feed_messages SET next_attempt_at = :lease
    WHERE (jurisdiction, agency, event_id) IN (
        SELECT jurisdiction, agency, event_id FROM feed_messages WHERE status = 'pending' AND next_attempt_at <= :now
        ORDER BY next_attempt_at, position LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING jurisdiction, agency, agency_type, event_id, event_type, participant_id, category, reason, envelope,
        attempts
    """
)
_SETTLE = sa.text(
    "UPDATE feed_messages SET status = :status, attempts = :attempts, next_attempt_at = :next "
    "WHERE jurisdiction = :jurisdiction AND agency = :agency AND event_id = CAST(:event_id AS uuid)"
)


def subject(jurisdiction: str, agency: str, event_type: str) -> str:
    return f"feeds.{jurisdiction}.{agency}.{event_type}"


class FeedPublisher:
    def __init__(self, engine: AsyncEngine, nc: Client, gate: ConsentGate, mint: Mint, clock: Clock) -> None:
        self._engine, self._js, self._gate, self._mint, self._clock = engine, nc.jetstream(), gate, mint, clock

    async def run(self, idle: float = 0.2) -> None:
        await poll_forever(self.step, "feed publishing", idle)

    async def step(self) -> int:
        now = self._clock.now()
        async with self._engine.begin() as conn:
            claimed = [
                dict(r)
                for r in (
                    await conn.execute(_CLAIM, {"now": now, "lease": now + timedelta(seconds=60), "limit": 200})
                ).mappings()
            ]
        if not claimed:
            return 0
        permitted, denied = await decide.split(self._gate, self._mint, claimed)
        for m in denied:
            await self._settle(m, "denied", m["attempts"], None)
        for m in permitted:
            await self._publish(m, now)
        return len(claimed)

    async def _publish(self, m: dict[str, Any], now) -> None:  # type: ignore[no-untyped-def]
        headers = {"Nats-Msg-Id": f"{m['event_id']}:{m['agency']}"}
        body = json.dumps(m["envelope"], separators=(",", ":")).encode()
        try:
            await self._js.publish(subject(m["jurisdiction"], m["agency"], m["event_type"]), body, headers=headers)
        except Exception as exc:  # noqa: BLE001 - no stream yet, or NATS away: retried on the schedule
            attempts = m["attempts"] + 1
            retry = rules.next_retry(attempts, now)
            log.info("feed_publish_not_acknowledged", extra={"error": type(exc).__name__})
            await self._settle(m, "failed" if retry is None else "pending", attempts, retry)
            return
        await self._settle(m, "published", m["attempts"] + 1, None)

    async def _settle(self, m: dict[str, Any], status: str, attempts: int, next_at) -> None:  # type: ignore[no-untyped-def]
        async with self._engine.begin() as conn:
            await conn.execute(
                _SETTLE,
                {
                    "status": status,
                    "attempts": attempts,
                    "next": next_at,
                    "jurisdiction": m["jurisdiction"],
                    "agency": m["agency"],
                    "event_id": str(m["event_id"]),
                },
            )
