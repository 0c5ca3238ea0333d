"""``smac-bench datasets ...`` sub-commands."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_command() -> None:
    """List the smac-bench datasets (not built yet)."""
    typer.echo("datasets are not built yet (issue #3)")
