"""NATS goes away while police keep referring: every referral is accepted, every event arrives once."""

from __future__ import annotations

import asyncpg

from tests.conftest import System
from tests.partner import referral_body

REFERRALS_DURING_OUTAGE = 15


class TestNatsOutage:
    async def test_events_accepted_while_nats_is_down_are_delivered_once_when_it_returns(self, system: System) -> None:
        police, prosecutor = system.partner("police"), system.partner("prosecutor")
        police.token(), prosecutor.token()  # tokens come from the gateway, not the bus

        system.nats.stop()
        try:
            referral_ids = []
            for i in range(REFERRALS_DURING_OUTAGE):
                reply = police.post("/v1/referrals", json=referral_body(f"P-OUTAGE-{i}"))
                assert reply.status_code == 201, reply.text
                referral_ids.append(reply.json()["referral_id"])
            # Nothing can reach prosecution while the bus is down.
            assert prosecutor.get(f"/v1/held-charges/{referral_ids[0]}").status_code == 404
        finally:
            system.nats.start()

        for referral_id in referral_ids:
            held = prosecutor.wait_for(f"/v1/held-charges/{referral_id}", lambda r: r.status_code == 200, timeout=60)
            assert held.json()["status"] == "held"

        prosecution = await asyncpg.connect(system.database_url("prosecution"))
        try:
            held_events = await prosecution.fetch(
                "SELECT stream_id, count(*) AS n FROM events WHERE type = 'ChargeHeld' "
                "AND data->>'referral_id' = ANY($1::text[]) GROUP BY stream_id",
                referral_ids,
            )
        finally:
            await prosecution.close()
        assert len(held_events) == REFERRALS_DURING_OUTAGE
        assert all(row["n"] == 1 for row in held_events)

        referral = await asyncpg.connect(system.database_url("referral"))
        try:
            unpublished = await referral.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        finally:
            await referral.close()
        assert unpublished == 0
