"""The `divert` command: one Typer app, one sub-command group per concern, each in its own module."""

from __future__ import annotations

import typer

from divert_cli import audit, clients, dead_letters, demo, keys, ops, projections

app = typer.Typer(
    name="divert",
    help="Operate a Divert deployment: the local `make run` one (under .divert/) unless DIVERT_* settings say otherwise.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a traceback must never print a secret held in a local variable
)
app.add_typer(clients.app, name="clients")
app.add_typer(keys.app, name="keys")
app.add_typer(dead_letters.app, name="dead-letters")
app.add_typer(projections.app, name="projections")
app.add_typer(audit.app, name="audit")
app.add_typer(demo.app, name="demo")
ops.register(app)  # top-level `divert migrate` and `divert status`


if __name__ == "__main__":
    app()
