"""`divert clients` and `divert keys` against the running system, as an operator runs them.

The CLI is invoked in-process (Typer's runner) with DIVERT_HOME at the test system's home, so it finds the
deployment through `operator.json` exactly as after `make run`. Revocation and rotation reach the gateway and
the services asynchronously: each such check polls with a bound, never sleeps and then asserts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from typer.testing import CliRunner

from divert_cli.main import app
from divert_devstack.postgres import PostgresServer
from divert_devstack.testing import create_database, running
from divert_gateway.bootstrap import create
from divert_gateway.config import GatewaySettings
from divert_kernel.clock import FixedClock
from tests.conftest import System

J = "seattle-king-county"
PRESETS = "/v1/eligibility-presets"  # any authenticated agency may read it: 200 means the token was accepted
WEBHOOKS = "/v1/webhook-endpoints"  # served by the gateway itself, which checks tokens there


def divert(env: dict[str, str], *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, f"{args}: {result.exit_code} {result.output}"
    return result


def operator_env(system: System) -> dict[str, str]:
    return {"DIVERT_HOME": str(system.home), "DIVERT_NATS_CREDENTIALS": str(system.nats.credentials_file)}


def add_client(system: System, agency: str = "seattle-pd", agency_type: str = "police") -> dict[str, Any]:
    out = divert(
        operator_env(system), "clients", "add", "--jurisdiction", J, "--agency", agency, "--type", agency_type, "--json"
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def token_reply(gateway: str, client_id: str, secret: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return httpx.post(f"{gateway}/oauth/token", data=form, timeout=10)


def refused(reply: httpx.Response) -> bool:
    """RFC 6749 §5.2: authlib answers a failed client_secret_post with 400, a failed Basic with 401."""
    return reply.status_code in (400, 401) and reply.json()["error"] == "invalid_client"


def token(gateway: str, client: dict[str, Any]) -> str:
    reply = token_reply(gateway, client["client_id"], client["client_secret"])
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def call(base: str, path: str, bearer: str) -> int:
    params = {"jurisdiction": J} if path == WEBHOOKS else None
    return httpx.get(
        f"{base}{path}", headers={"Authorization": f"Bearer {bearer}"}, params=params, timeout=10
    ).status_code


def kid_of(jwt: str) -> str:
    header = jwt.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def within(seconds: float, probe: Callable[[], Any]) -> Any:
    """Poll `probe` until it returns something truthy; fail with its last value after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        last = probe()
        if last or time.monotonic() > deadline:
            assert last, f"still {last!r} after {seconds} s"
            return last
        time.sleep(0.1)


class TestAddingAClient:
    def test_the_new_client_gets_a_token_and_calls_the_api(self, system: System) -> None:
        gateway = system.endpoints["gateway_url"]
        client = add_client(system)
        assert client["client_id"].startswith("seattle-pd-") and len(client["client_secret"]) >= 40
        bearer = token(gateway, client)
        assert call(gateway, PRESETS, bearer) == 200
        assert call(system.endpoints["services"]["referral"], PRESETS, bearer) == 200

    async def test_it_prints_the_agency_nats_credentials_and_they_connect(self, system: System) -> None:
        creds = (await asyncio.to_thread(add_client, system))["nats_credentials"]
        assert creds["user"] == "seattle-pd@seattle-king-county" and creds["stream"] and creds["durable"]
        nc = await nats.connect(
            servers=creds["servers"], user=creds["user"], password=creds["password"], inbox_prefix=creds["inbox_prefix"]
        )
        await nc.close()

    def test_list_shows_the_client_and_never_a_secret(self, system: System) -> None:
        client = add_client(system, "kc-prosecutor", "prosecutor")
        listed = divert(operator_env(system), "clients", "list", "--json").stdout
        row = next(r for r in json.loads(listed) if r["client_id"] == client["client_id"])
        assert row["agency_id"] == "kc-prosecutor" and row["disabled"] is False
        assert client["client_secret"] not in listed and "secret" not in listed

    @pytest.mark.parametrize(
        ("agency", "agency_type", "why"),
        [
            ("seattle-pd", "prosecutor", "is a police agency"),
            ("X", "police", "--agency"),
        ],
    )
    def test_an_agency_the_site_does_not_have_is_refused_and_nothing_stored(
        self, system: System, agency: str, agency_type: str, why: str
    ) -> None:
        env = operator_env(system)
        before = divert(env, "clients", "list", "--json").stdout
        args = ("clients", "add", "--jurisdiction", J, "--agency", agency, "--type", agency_type)
        assert why in divert(env, *args, code=2).output
        assert divert(env, "clients", "list", "--json").stdout == before


class TestDisablingAClient:
    def test_its_live_token_is_refused_at_the_gateway_and_at_a_service_within_seconds(self, system: System) -> None:
        gateway, referral = system.endpoints["gateway_url"], system.endpoints["services"]["referral"]
        client = add_client(system)
        bearer = token(gateway, client)
        assert (call(gateway, PRESETS, bearer), call(referral, PRESETS, bearer), call(gateway, WEBHOOKS, bearer)) == (
            200,
            200,
            200,
        )
        divert(operator_env(system), "clients", "disable", client["client_id"])
        within(15, lambda: call(gateway, PRESETS, bearer) == 401)
        within(15, lambda: call(referral, PRESETS, bearer) == 401)
        within(15, lambda: call(gateway, WEBHOOKS, bearer) == 401)
        assert refused(token_reply(gateway, client["client_id"], client["client_secret"]))

    def test_other_clients_of_the_same_agency_keep_working(self, system: System) -> None:
        gateway = system.endpoints["gateway_url"]
        kept, dropped = add_client(system), add_client(system)
        kept_token, dropped_token = token(gateway, kept), token(gateway, dropped)
        divert(operator_env(system), "clients", "disable", dropped["client_id"])
        within(15, lambda: call(gateway, PRESETS, dropped_token) == 401)
        assert call(gateway, PRESETS, kept_token) == 200

    def test_an_unknown_client_is_an_error(self, system: System) -> None:
        assert "no client" in divert(operator_env(system), "clients", "disable", "nobody-here", code=1).output


class TestRotatingASecret:
    def test_the_old_secret_is_refused_and_the_new_one_works(self, system: System) -> None:
        gateway = system.endpoints["gateway_url"]
        client = add_client(system)
        out = divert(operator_env(system), "clients", "rotate-secret", client["client_id"], "--json").stdout
        new_secret = json.loads(out)["client_secret"]
        assert new_secret != client["client_secret"]
        assert refused(token_reply(gateway, client["client_id"], client["client_secret"]))
        assert call(gateway, PRESETS, token(gateway, {**client, "client_secret": new_secret})) == 200


class TestRotatingTheSigningKey:
    def test_old_tokens_keep_working_and_new_ones_carry_the_new_key(self, system: System) -> None:
        gateway, services = system.endpoints["gateway_url"], system.endpoints["services"]
        client = add_client(system)
        before = token(gateway, client)
        rotated = json.loads(divert(operator_env(system), "keys", "rotate", "--activate-after", "2", "--json").stdout)
        assert rotated["kid"] != kid_of(before)

        def signed_with_new_key() -> str | None:
            fresh = token(gateway, client)
            return fresh if kid_of(fresh) == rotated["kid"] else None

        after = within(30, signed_with_new_key)
        published = {k["kid"] for k in httpx.get(f"{gateway}/.well-known/jwks.json").json()["keys"]}
        assert {kid_of(before), rotated["kid"]} <= published
        for bearer in (before, after):
            assert call(gateway, PRESETS, bearer) == 200
            assert call(gateway, WEBHOOKS, bearer) == 200
            assert call(services["referral"], PRESETS, bearer) == 200


class TestTheOldKeyRetires:
    """On a gateway of its own (fresh database, injected clock): the lifetime passes without waiting for it."""

    async def test_once_no_token_it_signed_can_be_valid(self, postgres: PostgresServer, tmp_path: Path) -> None:
        url = await create_database(postgres, "divert_gateway")
        clock = FixedClock(datetime.now(UTC))
        settings = GatewaySettings(database_url=url, signing_key_file=tmp_path / "none.jwk.json", token_ttl_seconds=60)
        env = {
            "DIVERT_HOME": str(tmp_path),
            "DIVERT_GATEWAY_URL": "http://gateway.test",
            "DIVERT_GATEWAY_DATABASE_URL": url,
        }
        async with running(create(settings, clock)) as gateway:

            async def kids() -> set[str]:
                return {k["kid"] for k in (await gateway.get("/.well-known/jwks.json")).json()["keys"]}

            async def eventually(expected: set[str]) -> None:
                for _ in range(100):
                    if await kids() == expected:
                        return
                    await asyncio.sleep(0.1)
                assert await kids() == expected

            (old,) = await kids()
            out = await asyncio.to_thread(divert, env, "keys", "rotate", "--activate-after", "0", "--json")
            new = json.loads(out.stdout)["kid"]
            await eventually({old, new})
            clock.advance(timedelta(seconds=30))  # the new key signs; the old one's tokens are still valid
            await asyncio.sleep(2.5)  # two refreshes of the key ring at the new time: nothing may change
            assert await kids() == {old, new}
            clock.advance(timedelta(seconds=60 + 10))  # past the token lifetime and the verifiers' leeway
            await eventually({new})
            listed = await asyncio.to_thread(divert, env, "keys", "list", "--json")
            assert [k["kid"] for k in json.loads(listed.stdout)] == [new]
