"""``smac-bench envs`` (and, for the Sawyer domain, ``smac-bench render``)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def register(app: typer.Typer) -> None:
    """Add the environment commands to the root app."""

    @app.command("envs")
    def envs_command() -> None:
        """List the task families, their Gymnasium ids and splits."""
        from smac_bench.envs import ENV_IDS, task_family

        table = Table(title="smac-bench task families")
        for col in ("name", "gymnasium id", "tasks", "train", "test", "horizon", "description"):
            table.add_column(col, overflow="fold")
        for name, (env_id, _, _) in ENV_IDS.items():
            fam = task_family(name)
            table.add_row(
                name, env_id, str(fam.num_tasks), str(len(fam.train_ids)), str(len(fam.test_ids)),
                str(fam.max_episode_steps), fam.description,
            )
        console.print(table)
