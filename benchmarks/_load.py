"""Open-loop load: arrest-diversion referrals sent through the gateway at scheduled times, whatever the answers do.

Every latency is measured from the request's scheduled send time, not from when it was actually sent, so a
system (or a client) that falls behind pays for its queue: coordinated omission is counted, not hidden.
The prosecutor's `ChargeHeld` is watched on NATS (core subscription on its subject, operator credential);
each event carries the referral id, which joins it to the request that caused it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field

import aiohttp
import nats

from divert_kernel.envelope import subject

J = "seattle-king-county"
CHARGE_HELD = subject(J, "prosecution", "ChargeHeld")


@dataclass
class Sent:
    scheduled: float
    sent: float = 0.0
    answered: float | None = None
    status: int | None = None  # HTTP status; -1 when no answer came (connection error or timeout)
    referral_id: str | None = None
    read_at: float | None = None  # the prosecutor's GET /v1/held-charges/{id} first answered 200


@dataclass
class Watch:
    """Every ChargeHeld seen on the bus: first arrival per referral, and how many distinct events per referral."""

    first: dict[str, float] = field(default_factory=dict)
    events: dict[str, set[str]] = field(default_factory=dict)

    def twice(self, referral_ids: list[str]) -> int:
        return sum(1 for r in referral_ids if len(self.events.get(r, ())) > 1)


def referral(n: int) -> bytes:
    """A distinct person per referral (the person index would otherwise link them into one participant)."""
    tag = uuid.uuid4().hex[:12]
    return json.dumps(
        {
            "jurisdiction": J,
            "referral_type": "arrest_diversion",
            "person": {
                "first_name": "Bench",
                "last_name": f"Load {tag}",
                "date_of_birth": "1990-04-01",
                "race": "white",
                "ethnicity": "not_hispanic_or_latino",
                "gender": "male",
                "rms_person_id": f"P-BENCH-{tag}",
            },
            "incident": {
                "rms_incident_number": f"2026-{n:06d}",
                "offense_codes": ["35A"],
                "occurred_at": "2026-11-20T14:05:00Z",
                "location": "3rd Ave & Pine St",
            },
            "officer": {"badge_number": "B-4411", "name": "Officer Example"},
        }
    ).encode()


class Load:
    def __init__(self, gateway_url: str, tokens: dict[str, str], read_every: int) -> None:
        self.url = gateway_url
        self.police = {"Authorization": f"Bearer {tokens['police']}", "Content-Type": "application/json"}
        self.prosecutor = {"Authorization": f"Bearer {tokens['prosecutor']}"}
        self.read_every = read_every  # sample the prosecutor's read on every n-th referral (0: never)
        self.watch = Watch()
        self.acked: list[str] = []  # every referral id answered 201, all steps
        self.session: aiohttp.ClientSession | None = None
        self.nc: nats.NATS | None = None

    async def open(self, nats_url: str) -> None:
        # No connection cap: an open-loop client that queued requests on a pool would hide the system's queue.
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
        self.session = aiohttp.ClientSession(self.url, connector=connector, timeout=aiohttp.ClientTimeout(total=60))
        self.nc = await nats.connect(nats_url)
        loop = asyncio.get_running_loop()

        async def seen(msg) -> None:  # type: ignore[no-untyped-def]
            at = loop.time()
            event = json.loads(msg.data)
            rid = event["data"]["referral_id"]
            self.watch.first.setdefault(rid, at)
            self.watch.events.setdefault(rid, set()).add(event["id"])

        await self.nc.subscribe(CHARGE_HELD, cb=seen, pending_msgs_limit=10_000_000, pending_bytes_limit=-1)
        await self.nc.flush()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self.nc is not None:
            await self.nc.close()

    async def _one(self, rec: Sent, body: bytes, sample: bool) -> None:
        assert self.session is not None
        loop = asyncio.get_running_loop()
        rec.sent = loop.time()
        headers = {**self.police, "Idempotency-Key": str(uuid.uuid4())}
        try:
            async with self.session.post("/v1/referrals", data=body, headers=headers) as reply:
                payload = await reply.read()
                rec.status = reply.status
                if reply.status == 201:
                    rec.referral_id = json.loads(payload)["referral_id"]
        except (aiohttp.ClientError, TimeoutError):
            rec.status = -1
        rec.answered = loop.time()
        if sample and rec.referral_id is not None:
            await self._read(rec)

    async def _read(self, rec: Sent, timeout: float = 30.0) -> None:
        assert self.session is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                async with self.session.get(f"/v1/held-charges/{rec.referral_id}", headers=self.prosecutor) as r:
                    await r.read()
                    if r.status == 200:
                        rec.read_at = loop.time()
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.025)

    async def step(self, rate: float, seconds: float, drain: float) -> tuple[list[Sent], float, float]:
        """Send `rate` referrals a second for `seconds`; wait (at most `drain` s) for answers and ChargeHeld.

        Returns the records, the client's CPU seconds and the latest lag of an actual send behind its schedule
        (the check that the load generator kept its schedule)."""
        loop = asyncio.get_running_loop()
        n = max(1, round(rate * seconds))
        bodies = [referral(i) for i in range(n)]
        cpu = time.process_time()
        start = loop.time() + 0.05
        records: list[Sent] = []
        tasks: list[asyncio.Task[None]] = []
        for i, body in enumerate(bodies):
            at = start + i / rate
            if (delay := at - loop.time()) > 0:
                await asyncio.sleep(delay)
            rec = Sent(at)
            records.append(rec)
            sample = self.read_every > 0 and i % self.read_every == 0
            tasks.append(asyncio.create_task(self._one(rec, body, sample)))
        end = start + n / rate
        _done, pending = await asyncio.wait(tasks, timeout=max(0.1, end + drain - loop.time()))
        for task in pending:
            task.cancel()
        lag = max((r.sent - r.scheduled for r in records if r.sent), default=0.0)
        acked = [r.referral_id for r in records if r.referral_id]
        self.acked += acked
        while loop.time() < end + drain and not all(rid in self.watch.first for rid in acked):
            await asyncio.sleep(0.05)
        return records, time.process_time() - cpu, lag


async def token(session: aiohttp.ClientSession, client: dict) -> str:  # type: ignore[type-arg]
    form = {
        "grant_type": "client_credentials",
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
    }
    async with session.post("/oauth/token", data=form) as reply:
        assert reply.status == 200, await reply.text()
        return str((await reply.json())["access_token"])
