"""`divert migrate` and `divert status`: bring every database to its newest schema; see how the system is doing."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import httpx
import sqlalchemy as sa
import typer
from rich.progress import Progress
from rich.table import Table

from divert_cli import opsdb, target

PACKAGES = {**{s: s for s in target.SERVICES}, "gateway": "divert_gateway"}
_BACKLOG = sa.text(
    "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS outbox, "
    "(SELECT count(*) FROM dead_letters) AS dead_letters"
)


def register(app: typer.Typer) -> None:
    """Add the top-level commands to the `divert` app."""
    app.command()(migrate)
    app.command()(status)


def _migrations_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        opsdb.fail(f"the {package} package is not installed here", code=2)
    return Path(str(spec.origin)).parent.parent / "migrations"


def migrate() -> None:
    """Apply every database's migrations (each service's, then the kernel's); running it again changes nothing."""
    from divert_kernel.migrate import upgrade

    deployment = opsdb.deployment()
    names = [name for name in target.DATABASES if name in deployment.databases]
    if not names:
        opsdb.fail("no database URLs: set DIVERT_<NAME>_DATABASE_URL or run `make run`", code=2)
    with Progress(console=opsdb.errors) as bar:
        task = bar.add_task("migrating", total=len(names))
        for name in names:
            bar.update(task, description=f"migrating {name}")
            url = opsdb.asyncpg_url(deployment.database_url(name))
            # The gateway keeps its own idempotency records and delivery tables in its own migrations.
            upgrade(_migrations_dir(PACKAGES[name]), url, kernel_tables=name != "gateway")
            bar.advance(task)
    opsdb.console.print(f"Migrated {len(names)} database(s): {', '.join(names)}.")


def status() -> None:
    """Each service's health and readiness, outbox backlog and dead letters, and every durable consumer's lag."""
    deployment = opsdb.deployment()
    services, consumers, healthy = opsdb.run(_status(deployment))
    opsdb.console.print(services)
    opsdb.console.print(consumers)
    if not healthy:
        opsdb.errors.print("[red]something is down or not ready[/red]")
        raise typer.Exit(1)


async def _status(deployment: target.Target) -> tuple[Table, Table, bool]:
    names = ["gateway", *target.SERVICES]
    urls = {"gateway": deployment.gateway_url} | deployment.services
    async with httpx.AsyncClient(timeout=5) as http:
        probes = await asyncio.gather(*(_probe(http, urls.get(n)) for n in names))
    backlogs = await asyncio.gather(*(_backlog(deployment, n) for n in names))
    table = Table("service", "healthz", "readyz", "outbox backlog", "dead letters", title="services")
    healthy = True
    for name, (alive, ready), (outbox, dead) in zip(names, probes, backlogs, strict=True):
        healthy = healthy and alive == "up" and ready == "ready" and outbox != "unreachable"
        table.add_row(name, alive, ready, outbox, dead)
    lags, bus_ok = await _lags(deployment)
    return table, lags, healthy and bus_ok


async def _probe(http: httpx.AsyncClient, url: str | None) -> tuple[str, str]:
    if url is None:
        return "unknown", "unknown"
    try:
        alive = "up" if (await http.get(f"{url}/healthz")).status_code == 200 else "down"
    except httpx.HTTPError:
        return "down", "down"
    try:
        reply = await http.get(f"{url}/readyz")
    except httpx.HTTPError:
        return alive, "down"
    if reply.status_code == 200:
        return alive, "ready"
    checks = reply.json().get("checks", {}) if "json" in reply.headers.get("content-type", "") else {}
    failing = [name for name, check in checks.items() if isinstance(check, dict) and not check.get("ok")]
    return alive, "not ready" + (f" ({', '.join(failing)})" if failing else "")


async def _backlog(deployment: target.Target, name: str) -> tuple[str, str]:
    if name not in deployment.databases:
        return "unknown", "unknown"
    try:
        async with opsdb.engine(name, deployment) as engine, engine.connect() as conn:
            row = (await asyncio.wait_for(conn.execute(_BACKLOG), 5)).one()
    except Exception:  # noqa: BLE001 - reported in the table; the command goes on with the rest
        return "unreachable", "unreachable"
    return str(row.outbox), str(row.dead_letters)


async def _lags(deployment: target.Target) -> tuple[Table, bool]:
    """Every durable of every stream: messages not yet delivered (pending) and delivered but not acked."""
    table = Table("stream", "durable", "pending", "ack pending", "redelivered", title="consumer lag")
    try:
        async with opsdb.bus(deployment) as nc:
            if nc is None:
                table.add_row("-", "no NATS URL (set DIVERT_NATS_URL)", "", "", "")
                return table, False
            js = nc.jetstream()
            for stream in sorted(await js.streams_info(), key=lambda s: s.config.name or ""):
                name = stream.config.name or ""
                for info in sorted(await js.consumers_info(name), key=lambda c: c.name or ""):
                    pending, acks, again = info.num_pending or 0, info.num_ack_pending or 0, info.num_redelivered or 0
                    table.add_row(name, info.name or "", str(pending), str(acks), str(again))
    except Exception as exc:  # noqa: BLE001 - NATS down is a status to report, not a crash
        table.add_row("-", f"NATS unreachable ({type(exc).__name__})", "", "", "")
        return table, False
    return table, True
