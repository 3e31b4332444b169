"""A webhook URL the gateway cannot parse, or httpx could not send, is a 422 naming `url`: never a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database
from divert_gateway.adapters import clients
from divert_gateway.bootstrap import create
from divert_gateway.config import GatewaySettings
from divert_kernel.clock import FixedClock
from divert_kernel.db import make_engine

CLIENT = {
    "client_id": "spd-rms-urls",
    "client_secret": "urls-secret-" + "x" * 40,
    "agency_id": "spd",
    "agency_type": "police",
    "jurisdictions": ["seattle-king-county"],
    "scopes": [],
}
BAD = ["https://[::1", "https://127.0.0.1:99999/", "https://1.1.1.1:-1/", "https://1.1.1.1/\u0001x"]


@pytest.mark.parametrize("allow_private", [False, True])
async def test_an_unparseable_url_is_a_422_naming_url(
    postgres: PostgresServer, tmp_path: Path, allow_private: bool
) -> None:
    url = await create_database(postgres, "divert_gateway")
    engine = make_engine(url)
    await clients.register(engine, [CLIENT])
    await engine.dispose()
    settings = GatewaySettings(
        database_url=url,
        issuer="https://gateway.test",
        signing_key_file=tmp_path / "k.json",
        webhook_allow_private_targets=allow_private,
        rate_limits={"writes": "100/minute"},
    )
    app = create(settings, clock=FixedClock(datetime(2031, 1, 1, tzinfo=UTC)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("10.0.0.1", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            form = {k: CLIENT[k] for k in ("client_id", "client_secret")} | {"grant_type": "client_credentials"}
            token = (await http.post("/oauth/token", data=form)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for target in BAD:
                body = {"url": target, "event_types": ["IntakeCompleted"], "description": "x"}
                reply = await http.post("/v1/webhook-endpoints", json=body, headers=headers)
                assert reply.status_code == 422, (target, reply.status_code, reply.text)
                assert reply.json()["field"] == "url", reply.text
