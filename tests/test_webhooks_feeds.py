"""NATS feeds from the delivery component: an entitled, permitted event also goes to
feeds.<jurisdiction>.<agency>.<EventType> with Nats-Msg-Id <event id>:<agency>; a denied one does not.
(Partner credentials and per-agency streams are set up beside this; here a stream of the test's own captures the
police agency's feed, read with Divert's own NATS token.)"""

from __future__ import annotations

import asyncio
import json

import asyncpg
import nats
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError

from tests.conftest import System
from tests.partner import enrol, hand_off, referral_body, roi_naming, until_created

J = "seattle-king-county"


async def _stream_for(js, subject: str) -> str:  # type: ignore[no-untyped-def]
    try:
        await js.add_stream(StreamConfig(name="TEST_POLICE_FEED", subjects=[subject]))
        return "TEST_POLICE_FEED"
    except BadRequestError:  # a per-agency feed stream already captures it
        return await js.find_stream_name_by_subject(subject)


async def _intakes(js, stream: str, subject: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """Participant id -> (the feed message's Nats-Msg-Id, its CloudEvent)."""
    sub = await js.pull_subscribe(subject, stream=stream)
    found = {}
    try:
        while True:
            for msg in await sub.fetch(batch=100, timeout=1):
                body = json.loads(msg.data)
                await msg.ack()
                participant_id = (body.get("data") or {}).get("participant_id")
                if participant_id is not None:  # other tests publish probes to this feed too
                    found[participant_id] = {"msg_id": msg.headers.get("Nats-Msg-Id"), "body": body}
    except TimeoutError:  # nats-py raises its own, or asyncio's when the deadline runs out under load
        return found
    finally:
        await sub.unsubscribe()


async def test_intake_reaches_the_police_feed_only_when_permitted(system: System) -> None:
    police, cm = system.partner("police"), system.partner("case_management")
    agency = police.client["agency_id"]
    subject = f"feeds.{J}.{agency}.IntakeCompleted"
    nc = await nats.connect(system.nats.url)
    js = nc.jetstream()
    try:
        stream = await _stream_for(js, f"feeds.{J}.{agency}.>")
        participants = {}
        for tag, permitted in (("FEED-OK", True), ("FEED-DENY", False)):
            created = await asyncio.to_thread(
                lambda t=tag: police.post("/v1/referrals", json=referral_body(f"P-{t}")).json()
            )
            await asyncio.to_thread(hand_off, police, cm, created)
            if permitted:
                roi = roi_naming(created["participant_id"], {agency: ["care_coordination"]})
                recorded = await asyncio.to_thread(until_created, lambda r=roi: cm.post("/v1/consents", json=r))
                assert recorded.status_code == 201
            assert (await asyncio.to_thread(enrol, cm, created["participant_id"])).status_code == 200
            participants[tag] = created["participant_id"]
        found: dict[str, dict] = {}
        for _ in range(60):
            found |= await _intakes(js, stream, subject)
            if participants["FEED-OK"] in found:
                break
        got = found[participants["FEED-OK"]]
        assert got["msg_id"] == f"{got['body']['id']}:{agency}"
        assert got["body"]["type"] == "org.divert.casemgmt.IntakeCompleted.v1"
        db = await asyncpg.connect(system.database_url("gateway"))
        try:
            for _ in range(100):  # the delivery component decided it (a recorded deny), and published nothing
                status = await db.fetchval(
                    "SELECT status FROM feed_messages WHERE agency = $1 AND event_type = 'IntakeCompleted' "
                    "AND participant_id = $2",
                    agency,
                    participants["FEED-DENY"],
                )
                if status == "denied":
                    break
                await asyncio.sleep(0.2)
            assert status == "denied"
        finally:
            await db.close()
        found |= await _intakes(js, stream, subject)
        assert participants["FEED-DENY"] not in found
    finally:
        await nc.close()
