"""`divert dead-letters list | retry | discard`: the events a service's consumers gave up on, per service.

A retry is carried out by the service itself: the command marks the dead letter in the service's database and
the consumer that gave up on it runs it through the same handler again (divert_kernel.dead_letters), so its
effect lands once, in the same transaction as the processed-event record. With `--wait` (the default) the
command reports each outcome: applied (the dead letter is gone) or failed again (with the new error).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated

import typer
from rich.table import Table

from divert_cli import opsdb, target
from divert_kernel import dead_letters

app = typer.Typer(help="The events each service's consumers gave up on: list, retry, discard.", no_args_is_help=True)

# The gateway's delivery consumer keeps dead letters too; it has no kernel migrations, so no retry requests.
HOLDERS = target.DATABASES
Service = Annotated[str, typer.Option("--service", "-s", help=f"one of {', '.join(HOLDERS)}")]
Ids = Annotated[list[int] | None, typer.Argument(help="dead-letter ids (from `list`)", show_default=False)]
Every = Annotated[bool, typer.Option("--all", help="every dead letter of the service")]


def _chosen(ids: list[int] | None, every: bool) -> list[int]:
    if not ids and not every:
        opsdb.fail("name the dead letters (ids from `divert dead-letters list`) or pass --all", code=2)
    if ids and every:
        opsdb.fail("either ids or --all, not both", code=2)
    return ids or []


@app.command("list")
def list_(
    service: Annotated[str | None, typer.Option("--service", "-s", help="one service (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List dead letters: consumer, event id and type, error and attempts (never the event's data)."""
    services = (opsdb.check_service(service, HOLDERS),) if service else HOLDERS
    deployment = opsdb.deployment()
    found = opsdb.run(_list(deployment, services))
    if as_json:
        for name, letter in found:
            fields = {"service": name} | letter.__dict__
            typer.echo(json.dumps(fields, default=str))
        return
    table = Table("service", "id", "consumer", "event type", "event id", "attempts", "failed at", "error")
    for name, d in found:
        retry = " (retry requested)" if d.retry_requested_at else ""
        failed = f"{d.failed_at:%Y-%m-%d %H:%M:%S}"
        table.add_row(
            name, str(d.id), d.consumer, d.event_type or "?", d.event_id, str(d.attempts), failed, d.error + retry
        )
    opsdb.console.print(table if found else "No dead letters.")


async def _list(deployment: target.Target, services: tuple[str, ...]) -> list[tuple[str, dead_letters.DeadLetter]]:
    found = []
    for name in services:
        if name not in deployment.databases and len(services) > 1:
            continue  # a deployment that names only some databases: list what it names
        async with opsdb.engine(name, deployment) as engine, engine.connect() as conn:
            found += [(name, letter) for letter in await dead_letters.listing(conn)]
    return found


@app.command()
def retry(
    service: Service,
    ids: Ids = None,
    every: Every = False,
    wait: Annotated[bool, typer.Option(help="wait for each outcome")] = True,
    timeout: Annotated[float, typer.Option(help="seconds to wait")] = 60.0,
) -> None:
    """Ask the service to apply these dead letters again through its own handler; exit 1 if any fails again."""
    opsdb.check_service(service, HOLDERS)
    chosen = _chosen(ids, every)
    failed = opsdb.run(_retry(opsdb.deployment(), service, chosen, every, wait, timeout))
    raise typer.Exit(1 if failed else 0)


async def _retry(
    deployment: target.Target, service: str, ids: list[int], every: bool, wait: bool, timeout: float
) -> bool:
    async with opsdb.engine(service, deployment) as engine:
        async with engine.begin() as conn:
            if not await dead_letters.retries_supported(conn):
                opsdb.fail(f"the {service} database cannot take retry requests (run `divert migrate`)")
            requested = await dead_letters.request_retry(conn, ids, every=every)
        missing = sorted(set(ids) - set(requested))
        for gone in missing:
            opsdb.errors.print(f"no dead letter {gone} in {service}")
        opsdb.console.print(f"Retry requested for {len(requested)} dead letter(s) of {service}.")
        if not wait or not requested:
            return bool(missing)
        outcomes = await _outcomes(engine, requested, timeout)
    for letter_id in requested:
        outcome = outcomes.get(letter_id)
        if outcome is None:
            opsdb.console.print(f"{letter_id}: applied")
        elif outcome.retry_requested_at is not None:
            opsdb.console.print(f"{letter_id}: not picked up within {timeout:g}s (is the {service} service up?)")
        else:
            opsdb.console.print(f"{letter_id}: failed again (attempt {outcome.attempts}): {outcome.error}")
    return bool(missing) or any(outcomes.get(i) is not None for i in requested)


async def _outcomes(engine, ids: list[int], timeout: float) -> dict[int, dead_letters.DeadLetter]:  # type: ignore[no-untyped-def]
    """Poll until every requested retry was taken up (its row gone, or back without a request) or time is up."""
    deadline = time.monotonic() + timeout
    while True:
        async with engine.connect() as conn:
            left = {d.id: d for d in await dead_letters.listing(conn, ids)}
        if all(d.retry_requested_at is None for d in left.values()) or time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.2)


@app.command()
def discard(service: Service, ids: Ids = None, every: Every = False) -> None:
    """Delete dead letters for good (the event stays in the publisher's store and stream)."""
    opsdb.check_service(service, HOLDERS)
    chosen = _chosen(ids, every)
    gone = opsdb.run(_discard(opsdb.deployment(), service, chosen, every))
    missing = sorted(set(chosen) - set(gone))
    for letter_id in missing:
        opsdb.errors.print(f"no dead letter {letter_id} in {service}")
    opsdb.console.print(f"Discarded {len(gone)} dead letter(s) of {service}.")
    raise typer.Exit(1 if missing else 0)


async def _discard(deployment: target.Target, service: str, ids: list[int], every: bool) -> list[int]:
    async with opsdb.engine(service, deployment) as engine, engine.begin() as conn:
        return await dead_letters.discard(conn, ids, every=every)
