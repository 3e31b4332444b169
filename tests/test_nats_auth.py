"""NATS always requires authentication (DESIGN §7a): an anonymous client can neither read nor forge events."""

from __future__ import annotations

import nats
import pytest

from divert_devstack.nats import NatsServer


async def test_an_anonymous_connection_is_refused(nats_server: NatsServer) -> None:
    with pytest.raises(Exception) as refused:
        await nats.connect(nats_server.public_url, allow_reconnect=False, connect_timeout=2, max_reconnect_attempts=0)
    assert "authorization" in repr(refused.value).lower(), repr(refused.value)


async def test_divert_services_credential_connects(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url, allow_reconnect=False, connect_timeout=2)
    try:
        assert nc.is_connected
    finally:
        await nc.close()
