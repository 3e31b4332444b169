"""Per-agency NATS feeds: every entitled, permitted event also goes to `feeds.<jurisdiction>.<agency>.<EventType>`,
with `Nats-Msg-Id: <event id>:<agency>` (JetStream drops a republished duplicate). The streams and the partners'
credentials for these subjects are set up beside them (issue 11, item 3); until a stream captures a subject, the
publish is not acknowledged and the message is retried on the webhook schedule, then left `failed`."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
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

Outcome = tuple[dict[str, Any], str, int, datetime | None]  # message, status, attempts, next attempt

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
# A batch's outcomes in one statement (the profile found one transaction per message).
_SETTLE = sa.text(
    "UPDATE feed_messages f SET status = v.status, attempts = v.attempts, next_attempt_at = v.next "
    "FROM unnest(CAST(:jurisdictions AS text[]), CAST(:agencies AS text[]), CAST(:event_ids AS uuid[]), "
    "CAST(:statuses AS text[]), CAST(:attempts AS integer[]), CAST(:nexts AS timestamptz[])) "
    "AS v(jurisdiction, agency, event_id, status, attempts, next) "
    "WHERE f.jurisdiction = v.jurisdiction AND f.agency = v.agency AND f.event_id = v.event_id"
)
# How long a batch waits for JetStream's acknowledgements; an unanswered publish is retried on the schedule.
ACK_TIMEOUT_SECONDS = 5.0


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
        outcomes = [(m, "denied", m["attempts"], None) for m in denied]
        outcomes += await self._publish(permitted, now)
        await self._settle(outcomes)
        return len(claimed)

    async def _publish(self, messages: list[dict[str, Any]], now: datetime) -> list[Outcome]:
        """Publish the batch without waiting for each acknowledgement in turn, then collect them all."""
        sent: list[asyncio.Future[Any] | BaseException] = []
        for m in messages:
            headers = {"Nats-Msg-Id": f"{m['event_id']}:{m['agency']}"}
            body = json.dumps(m["envelope"], separators=(",", ":")).encode()
            try:
                ack = await self._js.publish_async(
                    subject(m["jurisdiction"], m["agency"], m["event_type"]), body, headers=headers
                )
                sent.append(asyncio.ensure_future(asyncio.wait_for(ack, ACK_TIMEOUT_SECONDS)))
            except Exception as exc:  # noqa: BLE001 - NATS away: this one is retried on the schedule
                sent.append(exc)
        futures = [f for f in sent if isinstance(f, asyncio.Future)]
        await asyncio.gather(*futures, return_exceptions=True)
        outcomes: list[Outcome] = []
        for m, f in zip(messages, sent, strict=True):
            failed = f if isinstance(f, BaseException) else f.exception()
            attempts = m["attempts"] + 1
            if failed is None:
                outcomes.append((m, "published", attempts, None))
                continue
            # No stream captures the subject yet, or NATS is away: retried on the webhook schedule.
            log.info("feed_publish_not_acknowledged", extra={"error": type(failed).__name__})
            retry = rules.next_retry(attempts, now)
            outcomes.append((m, "failed" if retry is None else "pending", attempts, retry))
        return outcomes

    async def _settle(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                _SETTLE,
                {
                    "jurisdictions": [m["jurisdiction"] for m, *_ in outcomes],
                    "agencies": [m["agency"] for m, *_ in outcomes],
                    "event_ids": [str(m["event_id"]) for m, *_ in outcomes],
                    "statuses": [status for _, status, _, _ in outcomes],
                    "attempts": [attempts for _, _, attempts, _ in outcomes],
                    "nexts": [next_at for *_, next_at in outcomes],
                },
            )
