"""The gateway's token endpoint on its real database; tokens checked by the services' own verifier."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from divert_devstack.postgres import PostgresServer
from divert_devstack.procs import free_port
from divert_devstack.testing import create_database, running
from divert_gateway.adapters import clients
from divert_gateway.bootstrap import create
from divert_gateway.config import GatewaySettings
from divert_kernel.auth import TokenVerifier, principal_from_claims
from divert_kernel.db import make_engine
from divert_kernel.errors import Unauthenticated

ISSUER = "https://gateway.test"
POLICE = {
    "client_id": "spd-rms",
    "client_secret": "s3cret-" + "x" * 40,
    "agency_id": "seattle-pd",
    "agency_type": "police",
    "jurisdictions": ["seattle-king-county"],
    "scopes": ["referrals"],
}


@pytest.fixture(scope="module")
async def gateway(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    url = await create_database(postgres, "divert_gateway")
    engine = make_engine(url)
    await clients.register(engine, [POLICE])
    await engine.dispose()
    key_file = tmp_path_factory.mktemp("keys") / "signing.jwk.json"
    # Services "down" on ports nobody listens on: never the defaults, which `make run` may hold beside the tests.
    down = {
        f"{s}_url": f"http://127.0.0.1:{free_port()}"
        for s in ("referral", "casemgmt", "consent", "prosecution", "audit")
    }
    settings = GatewaySettings(database_url=url, issuer=ISSUER, signing_key_file=key_file, **down)
    async with running(create(settings)) as client:
        yield client


async def verify(gateway: httpx.AsyncClient, token: str, tmp_path: Path) -> dict:
    jwks = tmp_path / "jwks.json"
    jwks.write_text((await gateway.get("/.well-known/jwks.json")).text)
    return await TokenVerifier(str(jwks), ISSUER, "divert-api").verify(token)


class TestClientCredentials:
    async def test_a_token_names_the_agency_type_and_jurisdictions(
        self, gateway: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        reply = await gateway.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": POLICE["client_id"],
                "client_secret": POLICE["client_secret"],
            },
        )
        assert reply.status_code == 200, reply.text
        assert reply.headers["cache-control"] == "no-store"
        token = reply.json()["access_token"]
        claims = await verify(gateway, token, tmp_path)
        principal = principal_from_claims(claims, token, None)
        assert (principal.agency, principal.agency_type) == ("seattle-pd", "police")
        assert principal.jurisdictions == {"seattle-king-county"}
        assert principal.scopes == {"referrals"}

    async def test_http_basic_client_authentication_works_too(self, gateway: httpx.AsyncClient) -> None:
        basic = base64.b64encode(f"{POLICE['client_id']}:{POLICE['client_secret']}".encode()).decode()
        reply = await gateway.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
        )
        assert reply.status_code == 200, reply.text

    @pytest.mark.parametrize(
        ("form", "error"),
        [
            ({"grant_type": "client_credentials", "client_id": "spd-rms", "client_secret": "wrong"}, "invalid_client"),
            ({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}, "invalid_client"),
            (
                {"grant_type": "password", "client_id": "spd-rms", "client_secret": POLICE["client_secret"]},
                "unsupported_grant_type",
            ),
        ],
    )
    async def test_bad_requests_get_rfc6749_errors(self, gateway: httpx.AsyncClient, form: dict, error: str) -> None:
        reply = await gateway.post("/oauth/token", data=form)
        assert reply.status_code in (400, 401)
        assert reply.json()["error"] == error

    async def test_a_json_body_is_refused(self, gateway: httpx.AsyncClient) -> None:
        reply = await gateway.post("/oauth/token", json={"grant_type": "client_credentials"})
        assert reply.status_code == 400
        assert reply.json()["error"] == "invalid_request"

    async def test_a_token_from_another_issuer_is_refused(self, gateway: httpx.AsyncClient, tmp_path: Path) -> None:
        reply = await gateway.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": POLICE["client_id"],
                "client_secret": POLICE["client_secret"],
            },
        )
        jwks = tmp_path / "jwks.json"
        jwks.write_text((await gateway.get("/.well-known/jwks.json")).text)
        with pytest.raises(Unauthenticated):
            await TokenVerifier(str(jwks), "http://elsewhere", "divert-api").verify(reply.json()["access_token"])


class TestPublicDocuments:
    async def test_the_jwks_has_only_public_keys(self, gateway: httpx.AsyncClient) -> None:
        keys = (await gateway.get("/.well-known/jwks.json")).json()["keys"]
        assert keys and all("d" not in key for key in keys)

    async def test_openapi_lists_the_token_endpoint_even_with_services_down(self, gateway: httpx.AsyncClient) -> None:
        document = (await gateway.get("/openapi.json")).json()
        assert "/oauth/token" in document["paths"]
        assert document["openapi"].startswith("3.1")

    async def test_a_service_that_is_down_is_a_503_problem(self, gateway: httpx.AsyncClient) -> None:
        reply = await gateway.get("/v1/referrals/abc", headers={"Authorization": "Bearer x"})
        assert reply.status_code == 503
        assert reply.headers["content-type"] == "application/problem+json"
