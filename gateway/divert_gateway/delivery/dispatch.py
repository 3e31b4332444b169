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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from yarl import URL

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
# A batch's outcomes in one statement (the profile found a transaction of three statements per message): each
# message's status, its attempt's log row, and each endpoint's health from its last attempt in the batch.
_SETTLE = sa.text(
    """
    WITH v AS (
        SELECT * FROM unnest(CAST(:endpoint_ids AS uuid[]), CAST(:event_ids AS uuid[]), CAST(:statuses AS text[]),
            CAST(:attempts AS integer[]), CAST(:nexts AS timestamptz[]), CAST(:outcomes AS text[]),
            CAST(:codes AS integer[]), CAST(:durations AS integer[]))
            AS v(endpoint_id, event_id, status, attempts, next, outcome, code, duration)),
    settled AS (
        UPDATE webhook_messages m SET status = v.status, attempts = v.attempts, next_attempt_at = v.next
        FROM v WHERE m.endpoint_id = v.endpoint_id AND m.event_id = v.event_id),
    logged AS (
        INSERT INTO webhook_attempts (endpoint_id, event_id, attempted_at, outcome, status_code, duration_ms,
            next_retry_at)
        SELECT endpoint_id, event_id, :now, outcome, code, duration, next FROM v)
    UPDATE webhook_endpoints e
    SET failing_since = CASE WHEN h.healthy THEN NULL ELSE COALESCE(e.failing_since, :now) END
    FROM unnest(CAST(:health_ids AS uuid[]), CAST(:healthy AS boolean[])) AS h(endpoint_id, healthy)
    WHERE e.endpoint_id = h.endpoint_id
    """
)


@dataclass(frozen=True)
class Outcome:
    message: dict[str, Any]
    status: str
    outcome: str
    attempts: int
    code: int | None = None
    duration: int | None = None
    next_at: datetime | None = None
    healthy: bool = False
    disable: str | None = None


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
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None  # made in the event loop, at the first attempt
        self._sending = asyncio.Semaphore(32)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
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
        permitted, denied = await decide.split(self._gate, self._mint, claimed)
        outcomes = [Outcome(m, "denied", "denied", m["attempts"]) for m in denied]
        targets = await self._targets({m["url"] for m in permitted})
        # Appended as attempts finish: an endpoint's health is that of its last attempt in the batch.
        await asyncio.gather(*(self._attempt(m, now, targets[m["url"]], outcomes) for m in permitted))
        await self._settle(outcomes, now)
        return len(claimed)

    async def _targets(self, urls: set[str]) -> dict[str, rules.Target | None]:
        """Each endpoint's URL checked once per batch, at its attempts' moment (a name may come to resolve
        elsewhere by the next batch); DNS off the event loop. None: refused, the attempts fail."""

        def check(url: str) -> rules.Target | None:
            try:
                return rules.resolve_target(url, allow_private=self._allow_private)
            except rules.TargetRefused:
                return None

        found = await asyncio.gather(*(asyncio.to_thread(check, url) for url in urls))
        return dict(zip(urls, found, strict=True))

    async def _attempt(
        self, m: dict[str, Any], now: datetime, target: rules.Target | None, outcomes: list[Outcome]
    ) -> None:
        async with self._sending:
            body = json.dumps(m["envelope"], separators=(",", ":"))
            previous = m["previous_secret"] if m["previous_until"] and m["previous_until"] > now else None
            headers = rules.sign(str(m["event_id"]), self._wall.now(), body, m["secret"], previous)
            headers["content-type"] = "application/json"
            started = time.monotonic()
            code: int | None = None
            try:
                if target is not None:
                    code = await self._post(target, body, headers)
            except (aiohttp.ClientError, TimeoutError):
                code = None
            except Exception as exc:  # noqa: BLE001 - one attempt's surprise is a failed attempt, not a dead job
                log.warning("webhook_attempt_failed", extra={"error": type(exc).__name__})
                code = None
            duration = int((time.monotonic() - started) * 1000)
        attempts = m["attempts"] + 1
        if code is not None and 200 <= code < 300:
            outcomes.append(Outcome(m, "delivered", "delivered", attempts, code, duration, healthy=True))
            return
        retry = rules.next_retry(attempts, now)
        gone = code == 410
        failing_too_long = m["failing_since"] is not None and now - m["failing_since"] >= rules.DISABLE_AFTER
        status = "failed" if gone or retry is None else "pending"
        disable = "gone" if gone else "failing" if failing_too_long else None
        next_at = None if status == "failed" else retry
        outcomes.append(Outcome(m, status, "failed", attempts, code, duration, next_at, disable=disable))

    async def _post(self, target: rules.Target, body: str, headers: dict[str, str]) -> int:
        """POST to the checked address (the name in `Host` and as the TLS SNI name); the status code. aiohttp,
        not httpx: the profile found httpx's per-request overhead the largest share of the dispatcher's CPU."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=False)
        url, pinned, extensions = target.request()
        async with self._http.post(
            URL(url, encoded=True),
            data=body.encode(),
            headers={**headers, **pinned},
            server_hostname=extensions.get("sni_hostname"),
            allow_redirects=False,
        ) as reply:
            return reply.status

    async def _settle(self, outcomes: list[Outcome], now: datetime) -> None:
        if not outcomes:
            return
        health = {str(o.message["endpoint_id"]): o.healthy for o in outcomes if o.outcome != "denied"}
        async with self._engine.begin() as conn:
            await conn.execute(
                _SETTLE,
                {
                    "now": now,
                    "endpoint_ids": [str(o.message["endpoint_id"]) for o in outcomes],
                    "event_ids": [str(o.message["event_id"]) for o in outcomes],
                    "statuses": [o.status for o in outcomes],
                    "attempts": [o.attempts for o in outcomes],
                    "nexts": [o.next_at for o in outcomes],
                    "outcomes": [o.outcome for o in outcomes],
                    "codes": [o.code for o in outcomes],
                    "durations": [o.duration for o in outcomes],
                    "health_ids": list(health),
                    "healthy": list(health.values()),
                },
            )
            disabled: set[str] = set()
            for o in outcomes:
                endpoint_id = str(o.message["endpoint_id"])
                if o.disable is not None and endpoint_id not in disabled:
                    disabled.add(endpoint_id)
                    await disabling.disable(conn, endpoint_id, o.message["jurisdiction"], o.disable, now)
