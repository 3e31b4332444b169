"""The NATS feed publisher's batch (gateway/divert_gateway/delivery/publish.py): published without waiting for each
acknowledgement in turn, every outcome settled in one statement, a message no stream captures left pending for its
retry, and a republished message (its lease ran out before it was settled) stored once by JetStream."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import sqlalchemy as sa
from nats.js.api import StreamConfig

from divert_devstack.nats import NatsServer
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database
from divert_gateway.delivery.publish import FeedPublisher, subject
from divert_gateway.domain import webhooks as rules
from divert_kernel import bus
from divert_kernel.clock import FixedClock
from divert_kernel.db import make_engine
from divert_kernel.gate import ConsentGate

_QUEUE = sa.text(
    "INSERT INTO feed_messages (jurisdiction, agency, agency_type, event_id, event_type, participant_id, category, "
    "reason, envelope, status, next_attempt_at) VALUES (:j, :agency, 'police', CAST(:id AS uuid), 'ReferralMade', "
    "NULL, 'none', 'own', CAST(:envelope AS jsonb), 'pending', :now)"
)


async def test_a_batch_is_published_and_settled_at_once(postgres: PostgresServer, nats_server: NatsServer) -> None:
    jurisdiction = f"pub-{uuid4().hex[:8]}"
    clock = FixedClock(datetime(2031, 1, 1, tzinfo=UTC))
    engine = make_engine(await create_database(postgres, "divert_gateway"))
    nc = await bus.connect(nats_server.url, "test-feed-publisher")
    js = nc.jetstream()
    stream = f"TESTFEED_{uuid4().hex[:8]}"
    await js.add_stream(StreamConfig(name=stream, subjects=[f"feeds.{jurisdiction}.captured.>"]))
    ids = {str(uuid4()): "captured", str(uuid4()): "captured", str(uuid4()): "nowhere"}
    async with engine.begin() as conn:
        for event_id, agency in ids.items():
            envelope = json.dumps({"id": event_id, "type": "ReferralMade"})
            await conn.execute(
                _QUEUE, {"j": jurisdiction, "agency": agency, "id": event_id, "envelope": envelope, "now": clock.now()}
            )
    gate = ConsentGate("http://127.0.0.1:9")  # own records only: the gate is never asked
    publisher = FeedPublisher(engine, nc, gate, lambda *_: "unused", clock)
    try:
        assert await publisher.step() == 3
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.text(
                        "SELECT agency, status, attempts, next_attempt_at FROM feed_messages WHERE jurisdiction = :j"
                    ),
                    {"j": jurisdiction},
                )
            ).all()
        settled = sorted((r.agency, r.status, r.attempts, r.next_attempt_at) for r in rows)
        retry = rules.next_retry(1, clock.now())
        assert settled == [
            ("captured", "published", 1, None),
            ("captured", "published", 1, None),
            ("nowhere", "pending", 1, retry),  # no stream captures its subject: retried on the schedule
        ]
        assert (await js.stream_info(stream)).state.messages == 2
        # A lease that ran out before the settle: the same messages claimed and published again.
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "UPDATE feed_messages SET status = 'pending', next_attempt_at = :now WHERE agency = 'captured'"
                ),
                {"now": clock.now()},
            )
        assert await publisher.step() == 2
        assert (await js.stream_info(stream)).state.messages == 2  # Nats-Msg-Id: stored once
        assert subject(jurisdiction, "captured", "ReferralMade").startswith(f"feeds.{jurisdiction}.captured.")
    finally:
        await js.delete_stream(stream)
        await nc.close()
        await gate.close()
        await engine.dispose()
