"""``smac-bench sweep``: a grid of runs from flags or a TOML file, on local processes or Ray."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from smac_bench.cli.checks import at_least, output_folder
from smac_bench.cli.consoles import console
from smac_bench.errors import UserError


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to the root app."""

    @app.command("sweep")
    def sweep(
        file: Path = typer.Argument(None, help="A sweep TOML file (e.g. baselines/sweep.toml); or use the flags."),
        algos: str = typer.Option(None, help="Comma-separated agents, e.g. smac,oracle,offline-pearl."),
        envs: str = typer.Option(None, help="Comma-separated task families, e.g. cheetah-vel,ant-dir."),
        seeds: str = typer.Option(None, help="Seeds: 0-4 or 0,2,5."),
        preset: str = typer.Option("quick", help="Schedule and agent preset: smoke, quick, standard (the reference "
                                   "runs) or paper."),
        out: Path = typer.Option(None, help="Parent folder of the run folders (default: the file's out, or runs)."),
        workers: int = typer.Option(None, help="Cells at once on this machine (default: CPUs / threads)."),
        threads: int = typer.Option(None, help="torch threads per cell (default 1; 2 with --halves)."),
        halves: bool = typer.Option(False, "--halves", help="SMAC/oracle cells run each update's halves on "
                                    "two threads (same numbers)."),
        share_offline: bool = typer.Option(True, "--share-offline/--no-share-offline",
                                           help="Train an offline phase shared by several cells once and fork."),
        ray: bool = typer.Option(False, "--ray", help="Run each cell as a Ray task on a local Ray instance."),
        ray_address: str = typer.Option(None, help="Join an existing Ray cluster at ADDR (implies --ray); the "
                                        "out folder must be storage every node shares."),
    ) -> None:
        """Run a grid of agents x task families x seeds: one run folder per cell, exactly as `evaluate` writes it.

        A restart skips finished cells and resumes interrupted ones; a failing cell is reported with the last
        lines of its log (OUT/.sweep/<run>.log) and does not stop the others.
        """
        import dataclasses

        from smac_bench.cli.progress import progress_display
        from smac_bench.harness.sweep import Grid, Sweep, load_sweep_file, run_sweep
        from smac_bench.utils.progress import WorkEvent

        at_least(1, workers=workers, threads=threads)
        output_folder(out, "--out")
        flags = [name for name, value in (("--algos", algos), ("--envs", envs), ("--seeds", seeds)) if value]
        if file is not None and flags:
            raise UserError(f"give a sweep file or {', '.join(flags)}, not both")
        if file is not None:
            spec = load_sweep_file(file)
        elif len(flags) == 3:
            from smac_bench.harness.config import parse_seeds

            grid = Grid(tuple(algos.split(",")), tuple(envs.split(",")), tuple(parse_seeds(None, seeds)), preset)
            spec = Sweep(grids=(grid,))
        else:
            raise UserError("give a sweep file (e.g. baselines/sweep.toml) or all of --algos, --envs and --seeds")
        changes = {k: v for k, v in (("out", out), ("threads", threads)) if v is not None}
        spec = dataclasses.replace(spec, halves=halves or spec.halves,
                                   share_offline=share_offline and spec.share_offline, **changes)
        failures = []
        with progress_display(console) as show:
            def report(event) -> None:  # noqa: ANN001 - a SweepEvent
                note = f"{event.run_name}: {event.status}"
                show(WorkEvent("sweep", event.done_cells, event.total_cells, "cells", note))
                if event.status == "failed":
                    failures.append(event)

            results = run_sweep(spec, workers=workers, backend="ray" if ray or ray_address else "local",
                                address=ray_address, progress=report, dataset_progress=show)
        counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
        forked = sum(r.forked_from is not None for r in results)
        console.print(f"{len(results)} cells: {counts['done']} ran ({forked} forked from a shared offline phase), "
                      f"{counts['skipped']} already finished, {counts['failed']} failed; runs in "
                      f"{', '.join(sorted({str(g.out or spec.out) for g in spec.grids}))}",
                      highlight=False)
        for event in failures:
            console.print(f"[bold red]failed:[/] {escape(event.run_name)}\n{escape(event.message)}", highlight=False)
        if failures:
            raise typer.Exit(1)
