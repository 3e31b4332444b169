"""`divert clients`: the partner systems allowed to call Divert (OAuth2 client-credentials clients).

Works directly on the gateway's database (its URL from the target): every gateway replica reads clients there,
and picks up a disabled client within a second (it refuses the client's live tokens, and tells the services).
A secret is printed once, when made; only its hash is stored.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args

import nats.errors
import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from divert_cli import onboard, target
from divert_devstack import nats_reload
from divert_gateway.adapters import clients as store
from divert_kernel import bus
from divert_kernel.db import make_engine
from divert_kernel.sites import Agency

app = typer.Typer(help="Partner systems' clients: add, list, disable, rotate a secret.", no_args_is_help=True)
T = TypeVar("T")
AGENCY_TYPES: tuple[str, ...] = get_args(Agency.model_fields["agency_type"].annotation)
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")  # the site directory's id rule
Json = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"divert: {message}", err=True)
    raise typer.Exit(code)


def load_target() -> target.Target:
    try:
        return target.load()
    except target.TargetError as exc:
        fail(str(exc), 2)
        raise  # unreachable: fail() raises


def on_gateway_db(where: target.Target, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` against the gateway's database; its URL (which holds a password) is never printed."""
    try:
        url = where.database_url("gateway")
    except target.TargetError as exc:
        fail(str(exc), 2)
        raise

    async def run() -> T:
        engine = make_engine(url, pool_size=1)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (OSError, ConnectionError) as exc:
        fail(f"the gateway database cannot be reached ({type(exc).__name__})")
        raise


def _onboard(where: target.Target, jurisdiction: str, agency: str, agency_type: str) -> dict[str, Any]:
    """The agency in the site directory (joined if new) with its NATS feed; what to print about NATS."""
    path = onboard.sites_path(where)
    if not path.exists():  # no directory to check or extend (a deployment whose directory is a ConfigMap)
        known = _nats_credentials(where, jurisdiction, agency)
        return {"nats_credentials": known} if known else {}
    with onboard.locked(path):
        try:
            joined = onboard.join(path, jurisdiction, agency, agency_type)
        except onboard.Refused as exc:
            fail(str(exc), 2)
        if joined:
            typer.echo(f"{agency} ({agency_type}) joined {jurisdiction} in {path}; no MOU term names it", err=True)
        server, why = onboard.managed_nats(where)
        if server is not None:
            try:
                return {"nats_credentials": onboard.give_feed(server, jurisdiction, agency)}
            except (TimeoutError, OSError, nats.errors.Error, nats_reload.NotAttachable) as exc:
                fail(f"{agency}'s NATS feed is not ready ({type(exc).__name__}); no client was made: run this again")
    known = _nats_credentials(where, jurisdiction, agency)
    if known:
        return {"nats_credentials": known}
    return onboard.operator_steps(where, jurisdiction, agency, why) if joined else {}


def _nats_credentials(where: target.Target, jurisdiction: str, agency: str) -> dict[str, Any] | None:
    """What the agency passes to `nats.connect` for its own feed, as the NATS set-up wrote it."""
    path = Path(os.environ.get("DIVERT_NATS_CREDENTIALS", where.home / "nats-credentials.json"))
    if not path.exists():
        return None
    partners = json.loads(path.read_text()).get("partners", {})
    found = partners.get(bus.feed_user(jurisdiction, agency))
    return dict(found) if found else None


@app.command()
def add(
    jurisdiction: Annotated[str, typer.Option(help="The jurisdiction the client acts in.")],
    agency: Annotated[str, typer.Option(help="The agency id; one the site directory lacks joins it.")],
    agency_type: Annotated[str, typer.Option("--type", help="The agency's type (police, prosecutor, …).")],
    scope: Annotated[list[str] | None, typer.Option(help="A scope the client may ask for (repeatable).")] = None,
    as_json: Json = False,
) -> None:
    """Register a client for one agency; print its id and secret (once) and the agency's NATS credentials.

    An agency the jurisdiction's site directory does not list joins it, with its NATS feed (see onboard.py)."""
    for name, value in (("jurisdiction", jurisdiction), ("agency", agency)):
        if not _ID.match(value):
            fail(f"--{name} must be 2 to 63 lower-case letters, digits, '-' or '_'", 2)
    if agency_type not in AGENCY_TYPES:
        fail(f"--type must be one of: {', '.join(AGENCY_TYPES)}", 2)
    where = load_target()
    nats_shown = _onboard(where, jurisdiction, agency, agency_type)
    client = {
        "client_id": f"{agency}-{secrets.token_hex(4)}",
        "client_secret": secrets.token_urlsafe(32),
        "agency_id": agency,
        "agency_type": agency_type,
        "jurisdictions": [jurisdiction],
        "scopes": list(scope or []),
    }
    added = on_gateway_db(where, lambda engine: store.add(engine, client))
    if not added:
        fail("that client id is taken; run the command again")
    _show_once({**client, "token_url": f"{where.gateway_url}/oauth/token", **nats_shown}, as_json)


def _show_once(shown: dict[str, Any], as_json: bool) -> None:
    for line in shown.get("nats_setup", []):  # to the operator, also when a script reads the JSON
        typer.echo(line, err=True)
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    for name in ("client_id", "client_secret", "token_url", "agency_id", "agency_type", "jurisdictions", "scopes"):
        if name in shown:
            typer.echo(f"{name + ':':<15}{shown[name]}")
    if "nats_credentials" in shown:
        typer.echo(f"{'nats:':<15}{json.dumps(shown['nats_credentials'])}")
    typer.echo("The secret is shown only now: store it in the partner system's vault.", err=True)


@app.command("list")
def list_(as_json: Json = False) -> None:
    """Every client: id, agency, type, jurisdictions, scopes, enabled or not (never a secret)."""
    every = on_gateway_db(load_target(), store.every)
    rows = [
        {
            "client_id": c.client_id,
            "agency_id": c.agency_id,
            "agency_type": c.agency_type,
            "jurisdictions": list(c.jurisdictions),
            "scopes": list(c.scopes),
            "disabled": c.disabled,
            "created_at": c.created_at.isoformat(),
        }
        for c in every
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        state = "disabled" if r["disabled"] else "enabled"
        typer.echo(f"{r['client_id']:<32} {r['agency_id']:<24} {r['agency_type']:<16} {state:<9} {r['jurisdictions']}")


@app.command()
def disable(client_id: Annotated[str, typer.Argument(help="The client to disable.")]) -> None:
    """Disable a client: no new tokens, and its live tokens are refused everywhere within seconds."""
    done = on_gateway_db(load_target(), lambda engine: store.disable(engine, client_id))
    if not done:
        fail(f"no client {client_id!r}")
    typer.echo(f"{client_id} disabled; its tokens are refused within seconds")


@app.command("rotate-secret")
def rotate_secret(
    client_id: Annotated[str, typer.Argument(help="The client whose secret to replace.")],
    revoke_tokens: Annotated[
        bool, typer.Option(help="Also refuse the tokens issued so far (when the old secret may have leaked).")
    ] = False,
    as_json: Json = False,
) -> None:
    """Give a client a new secret (printed once); the old one stops working at once."""
    secret = secrets.token_urlsafe(32)
    done = on_gateway_db(
        load_target(), lambda engine: store.set_secret(engine, client_id, secret, revoke_tokens=revoke_tokens)
    )
    if not done:
        fail(f"no enabled client {client_id!r}")
    _show_once({"client_id": client_id, "client_secret": secret}, as_json)
