"""`divert clients add` for an agency the site directory does not list: it joins the site, gets a client and a
NATS feed of its own, and the running system serves it with no restart.

The system is a private `make run` (the launcher with its own PostgreSQL and nats-server, as test_launcher.py
starts it): the NATS `divert` reconfigures is the one the launcher runs, as on an operator's machine. The
session's `system` fixture would not prove it: its NATS is external to the launcher, so there `divert` can only
print the operator's steps (which TestAnExternalNats checks, on this same system, with DIVERT_NATS_URL set).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client
from typer.testing import CliRunner

from divert_cli.main import app
from divert_devstack.nats import Feed, NatsServer
from divert_devstack.procs import free_port
from divert_devstack.testing import eventually
from divert_gateway.adapters import feeds
from divert_kernel import bus
from divert_kernel.sites import Sites, load_sites
from tests.conftest import free_ports_env, start_launcher, stop_launcher
from tests.partner import Partner, referral_body

J = "seattle-king-county"
NEW, EXISTING = "new-pd", "seattle-pd"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`make run` of its own: PostgreSQL and nats-server started by the launcher, on free ports."""
    home = tmp_path_factory.mktemp("onboarding") / ".divert"
    env = {**free_ports_env(), "DIVERT_PG_PORT": str(free_port()), "DIVERT_NATS_PORT": str(free_port())}
    with pytest.MonkeyPatch.context() as mp:
        for inherited in ("DIVERT_DATABASE_URL", "DIVERT_NATS_URL", "DIVERT_NATS_CREDENTIALS", "DIVERT_SITES_FILE"):
            mp.delenv(inherited, raising=False)
        proc, endpoints = start_launcher(home, env)
        try:
            yield {"home": home, "gateway": endpoints["gateway_url"], "launcher": proc}
        finally:
            assert stop_launcher(proc) == 0


def divert(home: Path, *args: str, code: int = 0, **env: str) -> Any:
    result = CliRunner().invoke(app, list(args), env={"DIVERT_HOME": str(home), "DIVERT_NATS_URL": None, **env})
    assert result.exit_code == code, f"{args}: {result.exit_code} {result.output}"
    return result


def onboard(home: Path, agency: str, agency_type: str = "police", **env: str) -> dict[str, Any]:
    out = divert(
        home, "clients", "add", "--jurisdiction", J, "--agency", agency, "--type", agency_type, "--json", **env
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def demo_client(home: Path, agency: str) -> dict[str, Any]:
    clients = json.loads((home / "demo-clients.json").read_text())["clients"]
    return next(c for c in clients if c["agency_id"] == agency)  # type: ignore[no-any-return]


class Errors(list[str]):
    async def callback(self, exc: Exception) -> None:
        self.append(str(exc))


async def connect(creds: dict[str, Any], errors: Errors | None = None) -> Client:
    return await nats.connect(
        servers=creds["servers"],
        user=creds["user"],
        password=creds["password"],
        inbox_prefix=creds["inbox_prefix"],
        allow_reconnect=False,
        error_cb=(errors if errors is not None else Errors()).callback,
    )


async def feed_until(creds: dict[str, Any], found: Any, timeout: float = 30) -> list[dict[str, Any]]:
    """Pull (and ack) the agency's feed until `found(events)` holds or time runs out; every event read."""
    nc = await connect(creds)
    events: list[dict[str, Any]] = []
    try:
        sub = await nc.jetstream().pull_subscribe_bind(durable=creds["durable"], stream=creds["stream"])
        deadline = time.monotonic() + timeout
        while not found(events) and time.monotonic() < deadline:
            try:
                for msg in await sub.fetch(50, timeout=1):
                    events.append(json.loads(msg.data))
                    await msg.ack()
            except TimeoutError:  # nats-py's own, or asyncio's when the deadline runs out under load
                pass
        return events
    finally:
        await nc.close()


def about(referral_id: str) -> Any:
    return lambda events: any((e.get("data") or {}).get("referral_id") == referral_id for e in events)


def refer(partner: Partner, rms_id: str) -> dict[str, Any]:
    reply = partner.post("/v1/referrals", json=referral_body(rms_id))
    assert reply.status_code == 201, reply.text
    return reply.json()  # type: ignore[no-any-return]


class TestOnboardingANewAgency:
    def test_it_joins_the_site_gets_a_client_and_a_feed_and_its_referral_reaches_that_feed(
        self, stack: dict[str, Any]
    ) -> None:
        home = stack["home"]
        before = load_sites(str(home / "sites.json"))
        added = onboard(home, NEW)
        assert added["client_id"].startswith(f"{NEW}-") and len(added["client_secret"]) >= 40
        creds = added["nats_credentials"]
        assert creds["user"] == f"{NEW}@{J}" and creds["password"] and creds["stream"] and creds["durable"]
        site = load_sites(str(home / "sites.json")).get(J)
        assert site is not None and (NEW, "police") in {(a.agency_id, a.agency_type) for a in site.agencies}
        old_site = before.get(J)
        assert old_site is not None and site.mou == old_site.mou and site.version == old_site.version

        # Through the gateway, with no restart: a token, then a referral the referral service accepts.
        new_pd = Partner(stack["gateway"], added)
        created = refer(new_pd, "P-ONBOARD-1")
        assert new_pd.get(f"/v1/referrals/{created['referral_id']}").status_code == 200
        events = asyncio.run(feed_until(creds, about(created["referral_id"])))
        assert about(created["referral_id"])(events), [e.get("type") for e in events]
        assert all(e["type"].startswith("org.divert.") for e in events)

    def test_the_new_agency_reads_nothing_of_another_agency(self, stack: dict[str, Any]) -> None:
        """Joining the directory makes it a party to no MOU term: without an ROI naming it, nothing of another
        agency reaches it, by the API or by its feed; the other agency's own feed still works."""
        home = stack["home"]
        creds = onboard(home, NEW)["nats_credentials"]  # again: one more client of the same agency
        seattle = demo_client(home, EXISTING)
        theirs = refer(Partner(stack["gateway"], seattle), "P-ONBOARD-2")
        new_pd = Partner(stack["gateway"], onboard(home, NEW))
        withheld = new_pd.get(f"/v1/referrals/{theirs['referral_id']}")
        unknown = new_pd.get(f"/v1/referrals/{uuid.uuid4()}")
        assert withheld.status_code == unknown.status_code == 403, withheld.text  # withheld reads as unknown
        assert withheld.json()["detail"] == unknown.json()["detail"]
        assert about(theirs["referral_id"])(
            asyncio.run(feed_until(seattle["nats_credentials"], about(theirs["referral_id"])))
        )
        mine = refer(new_pd, "P-ONBOARD-3")  # a later event of its own marks how far its feed has come
        events = asyncio.run(feed_until(creds, about(mine["referral_id"])))
        assert about(mine["referral_id"])(events) and not about(theirs["referral_id"])(events)

    def test_its_nats_credentials_reach_its_own_feed_only(self, stack: dict[str, Any]) -> None:
        creds = onboard(stack["home"], NEW)["nats_credentials"]
        other = demo_client(stack["home"], EXISTING)["nats_credentials"]

        async def probe() -> None:
            errors = Errors()
            nc = await connect(creds, errors)
            try:
                await nc.subscribe("lead.>")
                await nc.subscribe(f"feeds.{J}.{EXISTING}.>")
                with pytest.raises(Exception) as refused:
                    sub = await nc.jetstream(timeout=1).pull_subscribe_bind(
                        durable=other["durable"], stream=other["stream"]
                    )
                    await sub.fetch(1, timeout=1)
                assert not isinstance(refused.value, AssertionError)
                await asyncio.sleep(0.3)  # the server's -ERR arrives asynchronously
                said = " | ".join(errors)
                assert 'subscription to "lead.>"' in said and f'subscription to "feeds.{J}.{EXISTING}.>"' in said
            finally:
                await nc.close()

        asyncio.run(probe())

    def test_the_feed_survives_a_restart_of_nats(self, stack: dict[str, Any]) -> None:
        """The launcher restarts a nats-server that dies; the restarted one still has the new agency."""
        home = stack["home"]
        creds = onboard(home, NEW)["nats_credentials"]
        pid = json.loads((home / "nats-server.json").read_text())["pid"]
        os.kill(pid, signal.SIGKILL)  # the nats-server this module's launcher started
        deadline = time.monotonic() + 60
        while json.loads((home / "nats-server.json").read_text())["pid"] == pid:
            assert time.monotonic() < deadline, "the launcher did not restart nats-server"
            time.sleep(0.2)
        new_pd = Partner(stack["gateway"], onboard(home, NEW))
        mine = refer(new_pd, "P-ONBOARD-4")
        assert about(mine["referral_id"])(asyncio.run(feed_until(creds, about(mine["referral_id"]), timeout=60)))


class TestRefusals:
    @pytest.mark.parametrize(
        ("args", "why"),
        [
            (("--jurisdiction", "atlantis", "--agency", "atlantis-pd", "--type", "police"), "no jurisdiction"),
            (("--jurisdiction", J, "--agency", EXISTING, "--type", "prosecutor"), "is a police agency"),
        ],
    )
    def test_nothing_changes(self, stack: dict[str, Any], args: tuple[str, ...], why: str) -> None:
        home = stack["home"]
        directory = (home / "sites.json").read_text()
        clients = divert(home, "clients", "list", "--json").stdout
        assert why in divert(home, "clients", "add", *args, code=2).output
        assert (home / "sites.json").read_text() == directory
        assert divert(home, "clients", "list", "--json").stdout == clients


class TestAnExternalNats:
    def test_it_prints_the_operator_steps_and_still_the_client(self, stack: dict[str, Any]) -> None:
        """DIVERT_NATS_URL names a NATS `divert` does not run: the directory and the client are made, and the
        steps that give the agency its account are printed; until then its credentials are refused."""
        home = stack["home"]
        nats_url = json.loads((home / "operator.json").read_text())["nats_url"]
        result = divert(
            home,
            "clients",
            "add",
            "--jurisdiction",
            J,
            "--agency",
            "later-pd",
            "--type",
            "police",
            "--json",
            DIVERT_NATS_URL=nats_url,
        )
        added = json.loads(result.stdout)
        assert (
            "deploy/k8s/nats/accounts.py" in result.stderr and "NATS_PW_LATER_PD_SEATTLE_KING_COUNTY" in result.stderr
        )
        assert (
            added["nats_credentials"]["user"] == f"later-pd@{J}"
            and "@" not in added["nats_credentials"]["servers"][0].split("//")[1]
        )
        assert Partner(stack["gateway"], added).get("/v1/eligibility-presets").status_code == 200
        with pytest.raises(nats.errors.Error):
            asyncio.run(connect(added["nats_credentials"]))


class TestTheDirectoryIsReadAgain:
    def test_a_change_is_seen_on_the_next_lookup_and_a_broken_file_is_ignored(self, tmp_path: Path) -> None:
        path = tmp_path / "sites.json"
        site = {
            "jurisdiction": J,
            "version": 1,
            "approved_by": "PCG 1",
            "agencies": [{"agency_id": EXISTING, "agency_type": "police"}],
        }
        path.write_text(json.dumps({"sites": [site]}))
        sites = load_sites(str(path))
        site["agencies"].append({"agency_id": NEW, "agency_type": "police"})
        tmp = tmp_path / "next.json"
        tmp.write_text(json.dumps({"sites": [site]}))
        os.replace(tmp, path)
        assert [a.agency_id for a in sites.get(J).agencies] == [EXISTING, NEW]  # type: ignore[union-attr]
        path.write_text('{"sites": [')
        assert [a.agency_id for a in sites.get(J).agencies] == [EXISTING, NEW]  # type: ignore[union-attr]
        assert Sites().refresh() is False


class TestTheGatewayMakesTheFeedsOfNewAgencies:
    async def test_an_agency_added_to_the_directory_gets_its_stream_and_durable(self, tmp_path: Path) -> None:
        """What the gateway does on its own where `divert` cannot reach NATS (a deployment): once NATS lets it
        (here, configured from the start), the feed of an agency that joins the directory appears within seconds."""
        server = NatsServer(tmp_path / "nats" / "store", free_port(), feeds=(Feed(J, EXISTING), Feed(J, NEW)))
        server.start()
        path = tmp_path / "sites.json"
        site = {
            "jurisdiction": J,
            "version": 1,
            "approved_by": "PCG 1",
            "agencies": [{"agency_id": EXISTING, "agency_type": "police"}],
        }
        path.write_text(json.dumps({"sites": [site]}))
        gateway = await nats.connect(server.url_for("gateway"), inbox_prefix=bus.inbox_prefix("divert-gateway"))
        keeping = asyncio.create_task(feeds.keep_up(gateway.jetstream(), load_sites(str(path)), every=0.2))
        try:
            js = gateway.jetstream()
            await eventually(lambda: _has_durable(js, EXISTING))
            assert not await _has_durable(js, NEW)
            site["agencies"].append({"agency_id": NEW, "agency_type": "police"})
            path.write_text(json.dumps({"sites": [site]}))
            await eventually(lambda: _has_durable(js, NEW))
        finally:
            keeping.cancel()
            await gateway.close()
            server.stop()


async def _has_durable(js: Any, agency: str) -> bool:
    try:
        await js.consumer_info(bus.feed_stream(J, agency), bus.feed_durable(J, agency))
        return True
    except nats.js.errors.NotFoundError:
        return False
