"""Every envelope's `dataschema` points at the gateway that serves the schema, as each service is configured."""

from __future__ import annotations

from datetime import UTC, datetime

from divert_kernel.envelope import to_cloudevent
from divert_kernel.eventstore import StoredEvent
from divert_kernel.settings import ServiceSettings


def stored() -> StoredEvent:
    return StoredEvent(
        position=1,
        event_id="6b1f4e52-9a57-4c1e-9d54-0f3a1b2c3d4e",
        stream_id="referral-R-1",
        version=1,
        type="DiversionOffered",
        schema_version=1,
        jurisdiction="seattle-king-county",
        data={},
        metadata={},
        recorded_at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
    )


def test_the_dataschema_is_under_the_public_base_url() -> None:
    envelope = to_cloudevent("referral", stored(), "https://api.lead.test/")
    assert envelope["dataschema"] == "https://api.lead.test/v1/schemas/events/referral/DiversionOffered/v1.json"


def test_a_service_points_at_its_gateway_by_default_and_at_the_setting_when_given() -> None:
    default = ServiceSettings(token_issuer="http://127.0.0.1:18000")
    assert default.public_base == "http://127.0.0.1:18000"
    configured = ServiceSettings(token_issuer="http://127.0.0.1:18000", public_base_url="https://api.lead.test/")
    assert configured.public_base == "https://api.lead.test"
    for settings in (ServiceSettings(), default, configured):
        assert "divert.example" not in to_cloudevent("referral", stored(), settings.public_base)["dataschema"]
