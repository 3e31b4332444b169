"""`divert audit verify`: walk the audit hash chain from the database, row by row, with a progress bar.

The walk is the audit service's own (audit.adapters.store.verify: one snapshot, constant memory), checked
against the signed checkpoints with the audit key's public half (fetched from the audit service, or an auditor's
own copy with --key) and against the newest checkpoint published on the bus, outside the database.
Exit status 0 when the chain is whole, 1 when it is not (naming the first bad entry), 2 when it cannot be checked.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from audit.adapters import published, store
from audit.domain.chain import Verification
from divert_cli import opsdb, target

app = typer.Typer(help="The audit log's hash chain.", no_args_is_help=True)


@app.command()
def verify(
    key: Annotated[
        Path | None, typer.Option(help="the checkpoint key as JWK or JWKS JSON (default: ask the audit service)")
    ] = None,
) -> None:
    """Recompute every entry's hash and check the signed checkpoints; exit 1 and name the first bad entry."""
    deployment = opsdb.deployment()
    report, compared = opsdb.run(_verify(deployment, key))
    seal = f"newest published checkpoint: {compared}" if compared else "no published checkpoint to compare with"
    if report.valid:
        opsdb.console.print(f"[green]valid[/green]: {report.entries} entries, head {report.head_hash[:16]}…; {seal}")
        return
    where = f"entry {report.first_bad_entry}"
    if report.first_bad_checkpoint is not None:
        where += f" (exposed by checkpoint {report.first_bad_checkpoint})"
    opsdb.console.print(f"[red]INVALID[/red] at {where}: {report.problem}; {report.entries} entries verified before it")
    raise typer.Exit(1)


async def _verify(deployment: target.Target, key_file: Path | None) -> tuple[Verification, int | None]:
    async with opsdb.engine("audit", deployment) as engine:
        async with engine.connect() as conn:
            sealed = await store.checkpoints(conn)
        keys = _keys(key_file, deployment) if sealed else []
        newest = await _published(deployment)
        with Progress(
            TextColumn("verifying the audit chain"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=opsdb.errors,
        ) as bar:
            task = bar.add_task("chain", total=None)

            def advance(seq: int, head: int) -> None:
                if seq % 500 == 0 or seq == head:  # rich redraws on its own clock; a call per row is wasted
                    bar.update(task, completed=seq, total=head)

            report = await store.verify(engine, _verifier(keys), newest, progress=advance)
    return report, newest.sequence if newest else None


def _keys(key_file: Path | None, deployment: target.Target) -> list[dict[str, Any]]:
    try:
        if key_file is not None:
            document = json.loads(key_file.read_text())
        else:
            reply = httpx.get(f"{deployment.service_url('audit')}/v1/audit/checkpoint-key", timeout=10)
            reply.raise_for_status()
            document = reply.json()
    except (OSError, ValueError, httpx.HTTPError) as exc:
        opsdb.fail(f"cannot read the checkpoint key ({type(exc).__name__}); pass --key with a copy of it", code=2)
    return list(document.get("keys", [document]))


def _verifier(keys: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    public = {k.get("kid"): Ed25519PublicKey.from_public_bytes(_unb64url(k["x"])) for k in keys if k.get("x")}

    def verifies(document: bytes, signature: str, key_id: str) -> bool:
        key = public.get(key_id)
        if key is None:
            return False
        try:
            key.verify(_unb64url(signature), document)
        except (InvalidSignature, ValueError):
            return False
        return True

    return verifies


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def _published(deployment: target.Target):  # type: ignore[no-untyped-def]
    """The newest checkpoint published on the bus; None (and said so) when the bus cannot be reached."""
    try:
        async with opsdb.bus(deployment) as nc:
            return await published.newest_checkpoint(nc)
    except Exception as exc:  # noqa: BLE001 - the chain is still checked against the database's checkpoints
        opsdb.errors.print(f"NATS not reachable ({type(exc).__name__}): not compared with a published checkpoint")
        return None
