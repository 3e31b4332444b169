"""`divert projections rebuild SERVICE [--verify]`: a service's read models, rebuilt from its events.

Safe with the service running: the rebuild replays into copies beside the live tables, then locks the live
tables for one short transaction that catches up and swaps the rows in (divert_kernel.rebuild). `--verify`
changes nothing and exits 1 when a live table differs from what its events say it should hold.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.pool import NullPool

from divert_cli import target
from divert_kernel import rebuild
from divert_kernel.projection import Projections

app = typer.Typer(help="Rebuild read models from the event store.", no_args_is_help=True)
console = Console()


def projections_of(service: str) -> Projections:
    """The service's declared projections; a service whose read models are not all projections yet has none."""
    if service not in target.SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(target.SERVICES)}")
    try:
        module = importlib.import_module(f"{service}.service_layer.projections")
    except ModuleNotFoundError:
        raise typer.BadParameter(f"the {service} service declares no projections yet") from None
    return module.projections  # type: ignore[no-any-return]


def asyncpg_url(url: str) -> str:
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    return url


@app.command("rebuild")
def rebuild_command(
    service: Annotated[str, typer.Argument(help="the service whose read models to rebuild, e.g. prosecution")],
    verify: Annotated[
        bool, typer.Option("--verify", help="rebuild aside and report differences from the live tables; change nothing")
    ] = False,
) -> None:
    """Rebuild SERVICE's read models from its event store and the events it consumed (its records are kept)."""
    projections = projections_of(service)
    try:
        url = asyncpg_url(target.load().database_url(service))
    except target.TargetError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    try:
        report = asyncio.run(_run(url, projections, verify=verify))
    except rebuild.RebuildRefused as exc:
        console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from None
    _print(report, verify=verify)
    if verify and report.differs:
        raise typer.Exit(1)


async def _run(url: str, projections: Projections, *, verify: bool) -> rebuild.Report:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, poolclass=NullPool)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(f"replaying {projections.service} events", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return await rebuild.run(engine, projections, verify=verify, progress=progress)
    finally:
        await engine.dispose()


def _print(report: rebuild.Report, *, verify: bool) -> None:
    table = Table(title="verified against the live tables" if verify else "rebuilt and swapped in")
    for column in ("table", "live rows", "rebuilt rows", "only live", "only rebuilt"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for name, t in report.tables.items():
        style = "red" if t.differs else None
        table.add_row(name, str(t.live_rows), str(t.rebuilt_rows), str(t.only_live), str(t.only_rebuilt), style=style)
    console.print(table)
    console.print(f"{report.events} events replayed")
    if verify:
        console.print("[red]differences found[/red]" if report.differs else "[green]no differences[/green]")
