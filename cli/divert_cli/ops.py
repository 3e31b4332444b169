"""`divert migrate` and `divert status`: not yet built."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the top-level commands to the `divert` app."""
