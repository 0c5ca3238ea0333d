"""``smac-bench leaderboard ...`` sub-commands."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("render")
def render_command() -> None:
    """Render leaderboard/README.md and index.html (not built yet)."""
    typer.echo("the leaderboard is not built yet (issue #7)")
