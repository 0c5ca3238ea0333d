"""``smac-bench envs`` (the task families) and ``smac-bench render`` (a Sawyer episode as a GIF)."""

from __future__ import annotations

import typer
from rich.table import Table

from smac_bench.cli.consoles import console
from smac_bench.errors import UserError


def register(app: typer.Typer) -> None:
    """Add the environment commands to the root app."""

    @app.command("envs")
    def envs_command() -> None:
        """List the task families, their Gymnasium ids and splits."""
        from smac_bench.envs import FAMILIES, task_family

        table = Table(title="smac-bench task families")
        for col in ("name", "gymnasium id", "tasks", "train", "test", "horizon", "description"):
            table.add_column(col, overflow="fold")
        for name, spec in FAMILIES.items():
            fam = task_family(name)
            table.add_row(
                name, spec.env_id, str(fam.num_tasks), str(len(fam.train_ids)), str(len(fam.test_ids)),
                str(spec.horizon), fam.description,
            )
        console.print(table)

    @app.command("render")
    def render_command(
        family: str = typer.Argument(..., help="Task family to render (only sawyer-manip for now)."),
        task: int = typer.Option(..., "--task", help="Task id (see `smac-bench envs` for the ranges)."),
        out: str = typer.Option("clip.gif", "--out", help="Animated GIF to write."),
        episode: int = typer.Option(
            -1, "--episode", help="Which of the task's offline dataset episodes (0 = first, noisiest; "
            "-1 = last, least noisy)."),
        scripted: bool = typer.Option(
            False, "--scripted", help="Render the scripted controller even for a training task "
            "(needs no dataset)."),
        every: int = typer.Option(4, "--every", help="Keep every N-th env step as a frame."),
        size: int = typer.Option(320, "--size", help="Frame width and height in pixels."),
        noise: float = typer.Option(0.0, "--noise", help="Gaussian action-noise std of the scripted policy "
                                    "(scripted episodes only)."),
        sibling: int = typer.Option(
            None, "--sibling", help="Show this sibling task (same table layout) side by side: its episode of the "
            "same number, or its own scripted controller."),
    ) -> None:
        """Render an episode of one task to an animated GIF.

        Training tasks: an episode of the installed offline dataset, replayed in the simulator
        (its recorded seed, reset options and actions); the dataset must be installed (`smac-bench
        datasets build sawyer-manip`). Test tasks have no offline data: their scripted controller
        is shown instead, as with --scripted. --sibling J shows task J, another task on the same
        table layout, on the right.
        """
        if family != "sawyer-manip":
            raise UserError(f"render supports only sawyer-manip, not {family!r}")
        from smac_bench.recipes.clip import render_episode

        result = render_episode(task, out, episode=episode, scripted=scripted, every=every, size=size,
                                noise_std=noise, sibling=sibling)
        if result["note"]:
            console.print(f"note: {result['note']}", markup=False)
        if result["source"] == "offline":
            console.print(
                f"wrote {out}: {result['frames']} frames of {result['steps']} steps of task {task}'s offline episode "
                f"--episode {result['rank']} (of {result['task_episodes']}; dataset episode_{result['episode']}, "
                f"seed {result['seed']}, return {result['return']:.1f}), success={result['success']}, "
                f"replay max |obs error| {result['max_obs_error']:.1g}"
            )
        else:
            console.print(
                f"wrote {out}: {result['frames']} frames of {result['steps']} steps of the scripted controller, "
                f"success={result['success']}"
            )
        if "sibling" in result:
            sib = result["sibling"]
            what = (f"episode_{sib['episode']}, return {sib['return']:.1f}, " if "episode" in sib else "")
            console.print(f"right: sibling task {sib['task_id']} ({sib['aim']}), {what}success={sib['success']}")
