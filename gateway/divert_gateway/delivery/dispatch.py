"""Send queued webhook messages: decide each cross-agency one at its attempt, sign, post, log, schedule retries.

Each attempt of a message about another agency's records is a consent-gate decision asked as the receiving agency
(in batch), so it is recorded and appears in the participant's accounting; a deny ends the message unsent, and a
retry after a revocation is decided again. The schedule runs on the injectable clock; the signature's timestamp is
the wall-clock moment of sending (receivers check it against their own clock).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_gateway.delivery import decide, disabling
from divert_gateway.delivery.decide import Mint
from divert_gateway.domain import webhooks as rules
from divert_kernel.clock import Clock, SystemClock
from divert_kernel.gate import ConsentGate

log = logging.getLogger("divert.gateway.delivery")

LEASE = timedelta(seconds=60)
_CLAIM = sa.text(
    """
    UPDATE webhook_messages m SET next_attempt_at = :lease
    FROM webhook_endpoints e
    WHERE e.endpoint_id = m.endpoint_id AND (m.endpoint_id, m.event_id) IN (
        SELECT m2.endpoint_id, m2.event_id FROM webhook_messages m2 JOIN webhook_endpoints e2 USING (endpoint_id)
        WHERE m2.status = 'pending' AND m2.next_attempt_at <= :now AND e2.enabled
        ORDER BY m2.next_attempt_at, m2.position LIMIT :limit FOR UPDATE OF m2 SKIP LOCKED)
    RETURNING m.endpoint_id, m.event_id, m.jurisdiction, m.participant_id, m.category, m.reason, m.envelope,
        m.attempts, e.agency, e.agency_type, e.url, e.secret, e.previous_secret, e.previous_until, e.failing_since
    """
)
_SETTLE = sa.text(
    "UPDATE webhook_messages SET status = :status, attempts = :attempts, next_attempt_at = :next "
    "WHERE endpoint_id = CAST(:endpoint_id AS uuid) AND event_id = CAST(:event_id AS uuid)"
)
_LOG = sa.text(
    "INSERT INTO webhook_attempts (endpoint_id, event_id, attempted_at, outcome, status_code, duration_ms, "
    "next_retry_at) VALUES (CAST(:endpoint_id AS uuid), CAST(:event_id AS uuid), :now, :outcome, :status_code, "
    ":duration_ms, :next)"
)
_HEALTH = sa.text(
    "UPDATE webhook_endpoints SET failing_since = CASE WHEN :healthy THEN NULL ELSE COALESCE(failing_since, :now) END "
    "WHERE endpoint_id = CAST(:endpoint_id AS uuid)"
)


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        gate: ConsentGate,
        mint: Mint,
        *,
        clock: Clock | None = None,
        allow_private: bool = False,
        batch: int = 200,
        timeout: float = 10.0,
    ) -> None:
        self._engine = engine
        self._gate = gate
        self._mint = mint
        self._clock = clock or SystemClock()
        self._wall = SystemClock()
        self._allow_private = allow_private
        self._batch = batch
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._sending = asyncio.Semaphore(32)

    async def close(self) -> None:
        await self._http.aclose()
        await self._gate.close()

    async def drain(self) -> int:
        """Every message due now, batch after batch (the scheduler's DispatchDueWebhooks); how many were claimed."""
        total = 0
        while True:
            claimed = await self.step()
            total += claimed
            if claimed < self._batch:
                return total

    async def step(self) -> int:
        """One batch of due messages; returns how many were claimed."""
        now = self._clock.now()
        async with self._engine.begin() as conn:
            claimed = [
                dict(r)
                for r in (
                    await conn.execute(_CLAIM, {"now": now, "lease": now + LEASE, "limit": self._batch})
                ).mappings()
            ]
        if not claimed:
            return 0
        permitted = await self._decide(claimed, now)
        await asyncio.gather(*(self._attempt(m, now) for m in permitted))
        return len(claimed)

    async def _decide(self, messages: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        permitted, denied = await decide.split(self._gate, self._mint, messages)
        for m in denied:
            await self._settle(m, now, status="denied", outcome="denied", attempts=m["attempts"])
        return permitted

    async def _attempt(self, m: dict[str, Any], now: datetime) -> None:
        async with self._sending:
            body = json.dumps(m["envelope"], separators=(",", ":"))
            previous = m["previous_secret"] if m["previous_until"] and m["previous_until"] > now else None
            headers = rules.sign(str(m["event_id"]), self._wall.now(), body, m["secret"], previous)
            headers["content-type"] = "application/json"
            started = time.monotonic()
            code: int | None = None
            try:
                # Checked at each attempt (a name may come to resolve elsewhere); DNS off the event loop.
                target = await asyncio.to_thread(rules.resolve_target, m["url"], allow_private=self._allow_private)
                url, pinned, extensions = target.request()
                reply = await self._http.post(url, content=body, headers={**headers, **pinned}, extensions=extensions)
                code = reply.status_code
            except (httpx.HTTPError, rules.TargetRefused):
                code = None
            except Exception as exc:  # noqa: BLE001 - one attempt's surprise is a failed attempt, not a dead job
                log.warning("webhook_attempt_failed", extra={"error": type(exc).__name__})
                code = None
            duration = int((time.monotonic() - started) * 1000)
        if code is not None and 200 <= code < 300:
            await self._settle(
                m,
                now,
                status="delivered",
                outcome="delivered",
                code=code,
                duration=duration,
                attempts=m["attempts"] + 1,
                healthy=True,
            )
            return
        attempts = m["attempts"] + 1
        retry = rules.next_retry(attempts, now)
        gone = code == 410
        failing_too_long = m["failing_since"] is not None and now - m["failing_since"] >= rules.DISABLE_AFTER
        status = "failed" if gone or retry is None else "pending"
        await self._settle(
            m,
            now,
            status=status,
            outcome="failed",
            code=code,
            duration=duration,
            attempts=attempts,
            next_at=None if status == "failed" else retry,
            disable="gone" if gone else "failing" if failing_too_long else None,
        )

    async def _settle(
        self,
        m: dict[str, Any],
        now: datetime,
        *,
        status: str,
        outcome: str,
        attempts: int,
        code: int | None = None,
        duration: int | None = None,
        next_at: datetime | None = None,
        healthy: bool = False,
        disable: str | None = None,
    ) -> None:
        ids = {"endpoint_id": str(m["endpoint_id"]), "event_id": str(m["event_id"])}
        async with self._engine.begin() as conn:
            await conn.execute(_SETTLE, {**ids, "status": status, "attempts": attempts, "next": next_at})
            await conn.execute(
                _LOG,
                {**ids, "now": now, "outcome": outcome, "status_code": code, "duration_ms": duration, "next": next_at},
            )
            if outcome == "denied":
                return
            await conn.execute(_HEALTH, {"endpoint_id": ids["endpoint_id"], "healthy": healthy, "now": now})
            if disable is not None:
                await disabling.disable(conn, ids["endpoint_id"], m["jurisdiction"], disable, now)
