"""`divert audit`: not yet built (owned by one helper; see the issue)."""

from __future__ import annotations

import typer

app = typer.Typer(help="audit (not yet built)", no_args_is_help=True)
