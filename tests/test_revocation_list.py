"""The public revocation list names no client: a disabled client appears as its token's `rvk` handle, which the
gateway alone can compute, and a service still refuses the client's tokens by it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from joserfc import jwt

from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database
from divert_gateway.adapters import clients
from divert_gateway.bootstrap import create
from divert_gateway.config import GatewaySettings
from divert_gateway.entrypoints import oauth
from divert_kernel.auth import is_revoked
from divert_kernel.clock import FixedClock
from divert_kernel.db import make_engine

CLIENT = {
    "client_id": "spd-rms-revoked",
    "client_secret": "revoked-secret-" + "x" * 40,
    "agency_id": "spd",
    "agency_type": "police",
    "jurisdictions": ["seattle-king-county"],
    "scopes": [],
}


async def test_the_revocation_list_names_disabled_clients_only_by_handle(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = await create_database(postgres, "divert_gateway")
    engine = make_engine(url)
    await clients.register(engine, [CLIENT])
    settings = GatewaySettings(database_url=url, issuer="https://gateway.test", signing_key_file=tmp_path / "k.json")
    app = create(settings, clock=FixedClock(datetime(2031, 1, 1, tzinfo=UTC)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            form = {k: CLIENT[k] for k in ("client_id", "client_secret")} | {"grant_type": "client_credentials"}
            token = (await http.post("/oauth/token", data=form)).json()["access_token"]
            assert await clients.disable(engine, CLIENT["client_id"])
            await oauth.refresh(app)
            listing = await http.get("/oauth/revocations")
    await engine.dispose()
    assert listing.status_code == 200
    assert CLIENT["client_id"] not in listing.text
    claims = jwt.decode(token, app.state.public_keys).claims
    assert claims["rvk"] in listing.json()["revoked"]
    assert is_revoked(claims, listing.json()["revoked"])
