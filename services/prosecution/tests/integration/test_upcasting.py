"""A LegacyCaseRegistered stored as version 1 (`charge_codes`), written the old way, reads as version 2
(`offense_codes`) on load, on rebuild, and to whoever consumes what the outbox publishes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import httpx
import nats
import nats.errors
import sqlalchemy as sa
from fastapi import FastAPI

from divert_contracts.prosecution import LegacyCaseRegistered
from divert_devstack.testing import eventually, publish_as
from divert_kernel import envelope, rebuild
from divert_kernel.clock import FixedClock
from prosecution.service_layer.projections import projections

J = "seattle-king-county"

# What the prosecution service's append wrote before version 2: the event row and its outbox row.
_OLD_APPEND = sa.text(
    """
    WITH appended AS (
        INSERT INTO events (event_id, stream_id, version, type, schema_version, jurisdiction, data, metadata)
        VALUES (CAST(:event_id AS uuid), :stream_id, 1, 'LegacyCaseRegistered', 1, :jurisdiction,
                CAST(:data AS jsonb), CAST(:metadata AS jsonb))
        RETURNING position
    )
    INSERT INTO outbox (position) SELECT position FROM appended
    """
)


async def test_a_version_1_case_reads_as_version_2_on_load_rebuild_and_the_bus(
    service: httpx.AsyncClient,
    app: FastAPI,
    bus: nats.NATS,
    offer: Callable,
    clock: FixedClock,
    office: dict[str, str],
) -> None:
    clock.at = datetime(2026, 11, 20, tzinfo=UTC)
    participant_id = str(uuid4())
    await publish_as(bus, "referral", offer(str(uuid4()), participant_id))
    case_id, event_id = str(uuid4()), str(uuid4())
    data = {
        "case_id": case_id,
        "participant_id": participant_id,
        "kind": "legacy",
        "docket_number": "25-1-0042-1 SEA",
        "court": "King County District Court",
        "charge_codes": ["23H", "90J"],
        "filed_at": "2025-06-01",
        "registered_at": "2025-06-02T10:00:00+00:00",
        "agency": "kc-prosecutor",
    }
    actor = {"client_id": "c", "agency": "kc-prosecutor", "agency_type": "prosecutor", "person": None}
    feed = await bus.jetstream().subscribe("lead.*.prosecution.LegacyCaseRegistered", ordered_consumer=True)
    async with app.state.engine.begin() as conn:
        await conn.execute(
            _OLD_APPEND,
            {
                "event_id": event_id,
                "stream_id": f"case-{case_id}",
                "jurisdiction": J,
                "data": json.dumps(data),
                "metadata": json.dumps({"actor": actor}),
            },
        )

    # Rebuild: the case's row comes from the upcast event.
    report = await rebuild.run(app.state.engine, projections, verify=False)
    assert report.tables["cases"].only_rebuilt == 1
    case = await service.get(f"/v1/cases/{case_id}", headers=office)
    assert case.status_code == 200, case.text
    assert [c["code"] for c in case.json()["charges"]] == ["23H", "90J"]

    # Load: the aggregate replays the version-1 event and takes a review.
    reviewed = await service.post(
        f"/v1/cases/{case_id}/reviews", headers=office, json={"decision": "support_release_motion", "rationale": "Ok."}
    )
    assert reviewed.status_code == 201, reviewed.text
    assert reviewed.json()["reviews"][0]["decision"] == "support_release_motion"

    # The bus: published as stored (version 1), read by a consumer as version 2.
    async def published() -> envelope.ReceivedEvent | None:
        try:
            msg = await feed.next_msg(timeout=1)
        except nats.errors.TimeoutError:
            return None
        received = envelope.from_bytes(msg.data)
        return received if received.id == event_id else None

    received = await eventually(published)
    assert received.envelope["type"] == "org.divert.prosecution.LegacyCaseRegistered.v1"
    assert received.envelope["data"]["charge_codes"] == ["23H", "90J"]
    assert isinstance(received.event, LegacyCaseRegistered) and received.event.schema_version == 2
    assert received.event.offense_codes == ["23H", "90J"]
    await feed.unsubscribe()
