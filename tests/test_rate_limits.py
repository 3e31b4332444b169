"""Rate limits at the gateway, on gateways of their own with low limits (the system tests run with high ones).

Per client and per class of route; 429 problem+json with Retry-After and the IETF RateLimit fields; failed
client authentications at /oauth/token locking out a (client id, address) and an address until the window ends,
and delaying a client id's failing attempts from anywhere; token requests that did not authenticate counted per
address, never against the client they name; repeated token parameters refused; and the counts shared by two
gateway processes on one database.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from divert_devstack.postgres import PostgresServer
from divert_devstack.procs import free_port, spawn, stop, wait_for_port
from divert_devstack.testing import create_database
from divert_gateway.adapters import clients
from divert_gateway.bootstrap import create
from divert_gateway.config import GatewaySettings
from divert_kernel.clock import FixedClock
from divert_kernel.db import make_engine

ISSUER = "https://gateway.test"
LIMITS = {"reads": "3/minute", "writes": "2/minute", "exports": "1/minute", "token": "10/minute"}
# A structured-field list member: a quoted policy name, then ;key=integer parameters.
_ITEM = re.compile(r'^"(?P<policy>[a-z-]+)"(?P<params>(;[a-z]+=\d+)+)$')


def _client(n: int) -> dict:
    return {
        "client_id": f"rl-client-{n}",
        "client_secret": f"rl-secret-{n}-" + "x" * 40,
        "agency_id": f"agency-{n}",
        "agency_type": "police",
        "jurisdictions": ["seattle-king-county"],
        "scopes": [],
    }


CLIENTS = [_client(n) for n in range(12)]


def sf_item(value: str) -> tuple[str, dict[str, int]]:
    match = _ITEM.match(value)
    assert match, value
    params = dict(p.split("=") for p in match["params"].strip(";").split(";"))
    return match["policy"], {k: int(v) for k, v in params.items()}


@dataclass
class Gateway:
    app: object
    clock: FixedClock
    database_url: str

    def http(self, address: str = "10.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False, client=(address, 40000))  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=transport, base_url="http://gateway")

    async def token(self, client: dict, address: str = "10.0.0.1") -> dict[str, str]:
        async with self.http(address) as http:
            reply = await http.post("/oauth/token", data=_form(client))
        assert reply.status_code == 200, reply.text
        return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def _form(client: dict, secret: str | None = None) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": client["client_id"],
        "client_secret": secret or client["client_secret"],
    }


def _encoded(form: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in form.items())


def granted_reset(reply: httpx.Response) -> int:
    return sf_item(reply.headers["ratelimit"])[1]["t"]


@pytest.fixture(scope="module")
async def database(postgres: PostgresServer) -> str:
    url = await create_database(postgres, "divert_gateway")
    engine = make_engine(url)
    await clients.register(engine, CLIENTS)
    await engine.dispose()
    return url


@pytest.fixture(scope="module")
async def gateway(database: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    nowhere = f"http://127.0.0.1:{free_port()}"  # upstream services: none (the limits are the gateway's)
    settings = GatewaySettings(
        database_url=database,
        issuer=ISSUER,
        signing_key_file=tmp_path_factory.mktemp("keys") / "k.jwk.json",
        rate_limits=LIMITS,
        token_failures_per_client_address="3/15 minutes",
        token_failures_per_client="6/15 minutes",
        token_failures_per_address="5/15 minutes",
        **{f"{s}_url": nowhere for s in ("referral", "casemgmt", "consent", "prosecution", "audit")},
    )
    clock = FixedClock(datetime(2031, 1, 1, tzinfo=UTC))
    app = create(settings, clock=clock)
    async with app.router.lifespan_context(app):
        yield Gateway(app, clock, database)


class TestPerClientAndClass:
    async def test_a_client_past_its_reads_gets_429_while_another_client_goes_on(self, gateway: Gateway) -> None:
        first, second = await gateway.token(CLIENTS[0]), await gateway.token(CLIENTS[1])
        async with gateway.http() as http:
            remaining = []
            for _ in range(3):
                reply = await http.get("/v1/webhook-endpoints", headers=first)
                assert reply.status_code == 200, reply.text
                assert sf_item(reply.headers["ratelimit-policy"]) == ("reads", {"q": 3, "w": 60})
                policy, state = sf_item(reply.headers["ratelimit"])
                assert policy == "reads" and 0 < state["t"] <= 60
                remaining.append(state["r"])
            assert remaining == [2, 1, 0]
            assert (await http.get("/v1/webhook-endpoints", headers=first)).status_code == 429
            assert (await http.get("/v1/webhook-endpoints", headers=second)).status_code == 200

    async def test_each_class_of_route_has_its_own_window(self, gateway: Gateway) -> None:
        headers = await gateway.token(CLIENTS[2])
        async with gateway.http() as http:
            for _ in range(3):
                await http.get("/v1/webhook-endpoints", headers=headers)
            assert (await http.get("/v1/webhook-endpoints", headers=headers)).status_code == 429
            # A write (refused as invalid, so nothing is created) and an export still have their own windows.
            write = await http.post("/v1/webhook-endpoints", json={}, headers=headers)
            assert write.status_code == 422 and sf_item(write.headers["ratelimit"])[0] == "writes"
            export = await http.get("/v1/participants/export", headers=headers)
            assert export.status_code != 429 and sf_item(export.headers["ratelimit"])[0] == "exports"
            assert (await http.get("/v1/participants/export", headers=headers)).status_code == 429

    async def test_the_429_is_problem_json_with_retry_after_and_ratelimit_fields(self, gateway: Gateway) -> None:
        headers = await gateway.token(CLIENTS[3])
        async with gateway.http() as http:
            for _ in range(2):
                assert (await http.post("/v1/webhook-endpoints", json={}, headers=headers)).status_code == 422
            gateway.clock.advance(timedelta(seconds=20))
            refused = await http.post("/v1/webhook-endpoints", json={}, headers=headers)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["status"] == 429 and refused.json()["title"] == "Too Many Requests"
        assert sf_item(refused.headers["ratelimit-policy"]) == ("writes", {"q": 2, "w": 60})
        assert sf_item(refused.headers["ratelimit"]) == ("writes", {"r": 0, "t": 40})
        assert refused.headers["retry-after"] == "40"

    async def test_the_window_passes(self, gateway: Gateway) -> None:
        headers = await gateway.token(CLIENTS[4])
        async with gateway.http() as http:
            for _ in range(3):
                await http.get("/v1/webhook-endpoints", headers=headers)
            assert (await http.get("/v1/webhook-endpoints", headers=headers)).status_code == 429
            gateway.clock.advance(timedelta(seconds=61))
            again = await http.get("/v1/webhook-endpoints", headers=headers)
        assert again.status_code == 200 and sf_item(again.headers["ratelimit"])[1]["r"] == 2

    async def test_requests_without_a_valid_token_count_per_address(self, gateway: Gateway) -> None:
        async with gateway.http("10.9.9.9") as http:
            for _ in range(3):
                assert (await http.get("/v1/webhook-endpoints")).status_code == 401
            assert (await http.get("/v1/webhook-endpoints", headers={"Authorization": "Bearer x"})).status_code == 429
        async with gateway.http("10.9.9.10") as elsewhere:
            assert (await elsewhere.get("/v1/webhook-endpoints")).status_code == 401

    async def test_docs_and_keys_are_not_limited(self, gateway: Gateway) -> None:
        async with gateway.http("10.9.9.11") as http:
            for _ in range(5):
                reply = await http.get("/.well-known/jwks.json")
                assert reply.status_code == 200 and "ratelimit" not in reply.headers


class TestTokenEndpointLockout:
    async def test_a_client_id_failing_from_an_address_is_refused_there_even_with_the_right_secret(
        self, gateway: Gateway
    ) -> None:
        client = CLIENTS[5]
        async with gateway.http("10.1.0.1") as http:
            for _ in range(3):
                failed = await http.post("/oauth/token", data=_form(client, secret="wrong"))
                assert failed.status_code in (400, 401) and failed.json()["error"] == "invalid_client"
            locked = await http.post("/oauth/token", data=_form(client))
        assert locked.status_code == 429 and locked.headers["content-type"] == "application/problem+json"
        assert sf_item(locked.headers["ratelimit-policy"]) == ("failed-auth-client-address", {"q": 3, "w": 900})
        assert 0 < int(locked.headers["retry-after"]) <= 900
        async with gateway.http("10.1.0.2") as elsewhere:  # a stranger's failures never lock the client out at home
            assert (await elsewhere.post("/oauth/token", data=_form(client))).status_code == 200
        gateway.clock.advance(timedelta(minutes=15, seconds=1))
        async with gateway.http("10.1.0.1") as http:
            assert (await http.post("/oauth/token", data=_form(client))).status_code == 200

    async def test_failures_from_many_addresses_delay_guesses_but_not_the_right_secret(self, gateway: Gateway) -> None:
        client = CLIENTS[8]
        for n in range(6):  # one failure from each address: below every per-address threshold
            async with gateway.http(f"10.4.0.{n}") as http:
                assert (await http.post("/oauth/token", data=_form(client, secret="wrong"))).status_code in (400, 401)
        async with gateway.http("10.4.0.50") as fresh:
            delayed = await fresh.post("/oauth/token", data=_form(client, secret="wrong"))
        assert delayed.status_code == 429 and "retry-after" in delayed.headers
        assert "ratelimit" not in delayed.headers and "ratelimit-policy" not in delayed.headers
        async with gateway.http("10.4.0.1") as failed_before:  # the right secret, where someone failed for it
            assert (await failed_before.post("/oauth/token", data=_form(client))).status_code == 429
        async with gateway.http("10.4.0.51") as home:  # the right secret from a clean address goes through
            assert (await home.post("/oauth/token", data=_form(client))).status_code == 200

    async def test_strangers_naming_a_client_spend_their_own_budget_and_see_no_other(self, gateway: Gateway) -> None:
        victim = CLIENTS[9]
        async with gateway.http("10.5.0.1") as stranger:
            for n in range(12):
                reply = await stranger.post(
                    "/oauth/token", data={"grant_type": "bogus", "client_id": victim["client_id"]}
                )
                assert reply.status_code != 200
                if "ratelimit" in reply.headers:  # the stranger's own (client id, address) count, never the client's
                    assert sf_item(reply.headers["ratelimit"])[1]["r"] == max(0, 9 - n)
        async with gateway.http("10.5.0.2") as home:
            granted = await home.post("/oauth/token", data=_form(victim))
        assert granted.status_code == 200
        assert sf_item(granted.headers["ratelimit"]) == ("token", {"r": 9, "t": granted_reset(granted)})

    async def test_a_repeated_parameter_is_refused_before_anything_is_counted(self, gateway: Gateway) -> None:
        decoy, victim = "rl-decoy", CLIENTS[10]
        body = f"grant_type=client_credentials&client_id={decoy}&client_id={victim['client_id']}&client_secret=wrong"
        headers = {"content-type": "application/x-www-form-urlencoded"}
        async with gateway.http("10.6.0.1") as http:
            for _ in range(4):
                reply = await http.post("/oauth/token", content=body, headers=headers)
                assert reply.status_code == 400, reply.text
                assert reply.json()["error"] == "invalid_request" and "client_id" in reply.json()["error_description"]
            for name in ("grant_type", "client_secret", "scope"):
                twice = f"{_encoded(_form(victim))}&{name}=again&{name}=again"
                reply = await http.post("/oauth/token", content=twice, headers=headers)
                assert reply.status_code == 400 and name in reply.json()["error_description"]
            assert (await http.post("/oauth/token", data=_form(victim))).status_code == 200

    async def test_the_token_endpoint_refuses_a_repeated_parameter_by_itself(self, gateway: Gateway) -> None:
        limiter = gateway.app.state.rate_limiter  # type: ignore[attr-defined]
        gateway.app.state.rate_limiter = None  # type: ignore[attr-defined]
        try:
            async with gateway.http("10.6.0.2") as http:
                reply = await http.post(
                    "/oauth/token",
                    content=f"{_encoded(_form(CLIENTS[10]))}&client_id=rl-decoy",
                    headers={"content-type": "application/x-www-form-urlencoded"},
                )
        finally:
            gateway.app.state.rate_limiter = limiter  # type: ignore[attr-defined]
        assert reply.status_code == 400 and "client_id" in reply.json()["error_description"]

    async def test_an_address_past_its_failures_is_refused_for_every_client(self, gateway: Gateway) -> None:
        async with gateway.http("10.2.0.1") as http:
            for n in range(5):  # a different (unknown) client id each time: only the address adds up
                reply = await http.post("/oauth/token", data=_form({"client_id": f"guess-{n}"}, secret="x"))
                assert reply.json()["error"] == "invalid_client"
            locked = await http.post("/oauth/token", data=_form(CLIENTS[7]))
            assert locked.status_code == 429
            assert sf_item(locked.headers["ratelimit-policy"])[0] == "failed-auth-address"
        async with gateway.http("10.2.0.2") as elsewhere:
            assert (await elsewhere.post("/oauth/token", data=_form(CLIENTS[7]))).status_code == 200

    async def test_a_good_answer_carries_the_token_class_fields(self, gateway: Gateway) -> None:
        async with gateway.http("10.3.0.1") as http:
            reply = await http.post("/oauth/token", data=_form(CLIENTS[6]))
        assert reply.status_code == 200
        assert sf_item(reply.headers["ratelimit-policy"]) == ("token", {"q": 10, "w": 60})


async def test_broken_counters_limit_nothing_and_break_nothing(postgres: PostgresServer, tmp_path: Path) -> None:
    url = await create_database(postgres, "divert_gateway")
    engine = make_engine(url)
    async with engine.begin() as conn:  # the counters' table gone: every count fails
        await conn.execute(sa.text("DROP TABLE rate_limit_counters"))
    await clients.register(engine, [CLIENTS[0]])
    await engine.dispose()
    settings = GatewaySettings(
        database_url=url, issuer=ISSUER, signing_key_file=tmp_path / "k.jwk.json", rate_limits={"reads": "1/minute"}
    )
    app = create(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            for _ in range(3):  # past the limit: nothing counts, nothing is refused, nothing is a 500
                reply = await http.get("/v1/webhook-endpoints")
                assert reply.status_code == 401 and "ratelimit" not in reply.headers
                assert (await http.post("/oauth/token", data=_form(CLIENTS[0], secret="wrong"))).status_code in (
                    400,
                    401,
                )
            # The token request's body, read to find its client id, still reaches the token endpoint.
            assert (await http.post("/oauth/token", data=_form(CLIENTS[0]))).status_code == 200


# -- two gateway processes, one database ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_gateways(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    home = tmp_path_factory.mktemp("two-gateways")
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": database,
        "GATEWAY_ISSUER": ISSUER,
        "GATEWAY_SIGNING_KEY_FILE": str(home / "signing.jwk.json"),
        "GATEWAY_RATE_LIMITS": json.dumps({"reads": "4/minute"}),
        # Written through on every request: exact across replicas. With the default interval a replica may miss
        # the other's last 0.2 s of hits (tests/test_rate_limits_synced.py covers that bound).
        "GATEWAY_RATE_LIMIT_SYNC_SECONDS": "0",
        **{f"GATEWAY_{s.upper()}_URL": nowhere for s in ("referral", "casemgmt", "consent", "prosecution", "audit")},
    }
    env.pop("GATEWAY_NATS_URL", None)
    procs, urls = [], []
    try:
        for n in range(2):
            port = free_port()
            argv = [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "divert_gateway.bootstrap:create",
                "--port",
                str(port),
            ]
            procs.append(spawn(argv, log=Path(home) / f"gateway-{n}.log", env=env))
            wait_for_port(port, proc=procs[-1], timeout=60)
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for proc in procs:
            stop(proc)


def test_two_gateway_processes_on_one_database_share_the_counts(two_gateways: list[str]) -> None:
    first, second = two_gateways
    token = httpx.post(f"{first}/oauth/token", data=_form(CLIENTS[0]), timeout=10).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    statuses = [
        httpx.get(f"{url}/v1/webhook-endpoints", headers=headers, timeout=10).status_code
        for url in (first, second, first, second, first, second)
    ]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_behind_the_ingress_the_gateway_believes_x_forwarded_for_only_from_in_cluster_proxies() -> None:
    import yaml

    docs = list(yaml.safe_load_all((Path(__file__).parents[1] / "deploy/k8s/base/gateway.yaml").read_text()))
    container = next(d for d in docs if d and d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert "--proxy-headers" in container["command"]
    trusted = next(e["value"] for e in container["env"] if e["name"] == "FORWARDED_ALLOW_IPS")
    assert "10.0.0.0/8" in trusted.split(",") and "*" not in trusted
