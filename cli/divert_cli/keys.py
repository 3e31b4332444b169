"""`divert keys`: the gateway's token signing keys, kept in the gateway database (every replica shares them).

`rotate` stores a new key: every replica publishes it in the JWKS within a second, services fetch it when the
gateway announces it, and it starts signing after `--activate-after` seconds, so no service ever meets a token
signed with a key it has not fetched. The old key stays published until no token it signed can still be
valid (the gateway's token lifetime, plus the verifiers' leeway), then each gateway replica drops it.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from divert_cli.clients import load_target, on_gateway_db
from divert_gateway.adapters import keys as store

app = typer.Typer(help="Token signing keys: rotate, list.", no_args_is_help=True)


@app.command()
def rotate(
    activate_after: Annotated[
        float,
        typer.Option(min=0, max=3600, help="Seconds between publishing the new key and signing with it."),
    ] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")] = False,
) -> None:
    """Publish a new signing key beside the current one; it signs from `--activate-after` seconds on."""
    key = store.generate()
    on_gateway_db(load_target(), lambda engine: store.store(engine, key, activate_after))
    if as_json:
        typer.echo(json.dumps({"kid": key.kid, "activate_after": activate_after}))
        return
    typer.echo(f"new signing key {key.kid}: published now, signing in {activate_after:g} s")
    typer.echo("the previous key stays published until every token it signed has expired, then retires")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")] = False) -> None:
    """The stored keys (ids and times only) and which one signs now."""
    rows = on_gateway_db(load_target(), store.listing)
    signing = max((r for r in rows if r["active"]), key=lambda r: r["active_from"], default=None)
    shown = [
        {
            "kid": r["kid"],
            "active_from": r["active_from"].isoformat(),
            "state": "signing" if r is signing else ("superseded" if r["active"] else "published, not yet signing"),
        }
        for r in rows
    ]
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    for r in shown:
        typer.echo(f"{r['kid']:<18} {r['active_from']:<34} {r['state']}")
