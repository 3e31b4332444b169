"""CloudEvents 1.0 structured JSON envelopes (DESIGN §4) and NATS subjects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from divert_kernel.context import Actor
from divert_kernel.events import Event, load_event, parse_type
from divert_kernel.eventstore import StoredEvent

# Each event type's JSON Schema is served by the gateway at `<public base URL>/v1/schemas/events/...`; the base is
# a setting of every service (ServiceSettings.public_base), the gateway's own address by default.
SCHEMA_PATH = "/v1/schemas/events"
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8000"


def subject(jurisdiction: str, service: str, event_type: str) -> str:
    return f"lead.{jurisdiction}.{service}.{event_type}"


def aggregate_id(stream_id: str) -> str:
    return stream_id.split("-", 1)[1] if "-" in stream_id else stream_id


def dataschema_url(public_base_url: str, service: str, event_type: str, version: int) -> str:
    """Where the gateway serves the JSON Schema of an event type's `data`."""
    return f"{public_base_url.rstrip('/')}{SCHEMA_PATH}/{service}/{event_type}/v{version}.json"


def to_cloudevent(service: str, stored: StoredEvent, public_base_url: str = DEFAULT_PUBLIC_BASE_URL) -> dict[str, Any]:
    """The structured-mode envelope of a stored event; its `dataschema` is under the gateway's public URL."""
    meta = stored.metadata
    actor = meta.get("actor") or {}
    envelope = {
        "specversion": "1.0",
        "id": stored.event_id,
        "source": f"/divert/{stored.jurisdiction}/{service}",
        "type": f"org.divert.{service}.{stored.type}.v{stored.schema_version}",
        "subject": aggregate_id(stored.stream_id),
        "time": stored.recorded_at.isoformat(timespec="milliseconds"),
        "datacontenttype": "application/json",
        "dataschema": dataschema_url(public_base_url, service, stored.type, stored.schema_version),
        "data": stored.data,
        "jurisdiction": stored.jurisdiction,
        "correlationid": meta.get("correlation_id"),
        "causationid": meta.get("causation_id"),
        "traceparent": meta.get("traceparent"),
        "streamversion": stored.version,
        "actoragency": actor.get("agency"),
        "actoragencytype": actor.get("agency_type"),
        "actorclient": actor.get("client_id"),
        "actorperson": actor.get("person"),
    }
    return {k: v for k, v in envelope.items() if v is not None}


@dataclass(frozen=True)
class ReceivedEvent:
    """An envelope taken off the bus, with its data parsed into the contract if known."""

    id: str
    service: str
    type: str
    version: int
    subject: str
    jurisdiction: str
    time: datetime
    event: Event | None
    envelope: dict[str, Any]

    @property
    def actor(self) -> Actor:
        e = self.envelope
        return Actor(
            client_id=e.get("actorclient", "system"),
            agency=e.get("actoragency", "divert"),
            agency_type=e.get("actoragencytype", "system"),
            person=e.get("actorperson"),
        )


def from_bytes(payload: bytes) -> ReceivedEvent:
    """Parse a structured CloudEvent; raises ValueError on anything malformed."""
    return from_dict(json.loads(payload))


def from_dict(envelope: Any) -> ReceivedEvent:
    """A parsed structured CloudEvent (as received, or as kept in `consumed_events`), its data upcast to the
    newest contract version known here."""
    if not isinstance(envelope, dict) or envelope.get("specversion") != "1.0":
        raise ValueError("not a CloudEvents 1.0 structured envelope")
    service, name, version = parse_type(envelope["type"])
    return ReceivedEvent(
        id=envelope["id"],
        service=service,
        type=name,
        version=version,
        subject=envelope.get("subject", ""),
        jurisdiction=envelope["jurisdiction"],
        time=datetime.fromisoformat(envelope["time"]),
        event=load_event(service, name, version, envelope.get("data") or {}),
        envelope=envelope,
    )
