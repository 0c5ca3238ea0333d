"""``smac-bench evaluate | plot | report | analyze`` sub-commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the harness commands to the root app."""

    @app.command("evaluate")
    def evaluate(
        algo: str = typer.Option("smac", help="Algorithm: smac, offline-pearl or oracle."),
        env: str = typer.Option("cheetah-vel", help="Task family: cheetah-vel, ant-dir or sawyer-manip."),
    ) -> None:
        """Train an agent and evaluate it on the held-out tasks (protocol v1)."""
        typer.echo(f"evaluate --algo {algo} --env {env}: the harness is not built yet (issue #5)")
