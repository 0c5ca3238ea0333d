"""``smac-bench evaluate | plot | report | analyze zshift`` — thin: parse, call the library, print.

Tables go through :mod:`smac_bench.cli.tables`, which fits them in an 80-column terminal.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from smac_bench.cli.checks import at_least, output_file, output_folder
from smac_bench.cli.consoles import console
from smac_bench.cli.tables import CONTEXT_NOTE, fitted_tables
from smac_bench.errors import UserError


def register(app: typer.Typer) -> None:
    """Add the harness commands to the root app."""

    @app.command("evaluate")
    def evaluate(
        algo: str = typer.Option("smac", help="Algorithm: smac, offline-pearl, oracle; bounds: bc, bc-task."),
        env: str = typer.Option("cheetah-vel", help="Task family: cheetah-vel, ant-dir or sawyer-manip."),
        seed: int = typer.Option(None, help="One seed (default 0)."),
        seeds: str = typer.Option(None, help="Several seeds, run in parallel processes: 0-4 or 0,2,5."),
        preset: str = typer.Option("quick", help="Schedule and agent preset: smoke, quick (default), "
                                   "standard (the reference runs) or paper."),
        out: Path = typer.Option(Path("runs"), help="Parent folder; each run writes OUT/<algo>-<env>-seed<N>/."),
        device: str = typer.Option("cpu", help="cpu or cuda."),
        resume: bool = typer.Option(False, "--resume", help="Continue runs from their last checkpoint."),
        workers: int = typer.Option(None, help="Parallel processes for --seeds (default: min(seeds, CPUs))."),
        threads: int = typer.Option(None, help="torch threads per run (default: CPUs / workers, 1 for one run)."),
        halves: bool = typer.Option(False, "--halves", help="SMAC/oracle on CPU: run the critic and actor halves "
                                    "of each update on two threads, one torch thread each (same numbers; "
                                    "faster with 2 idle cores per run)."),
        eval_workers: int = typer.Option(None, help="Processes stepping evaluation envs (default 0: in-process; "
                                         "more helps only with idle cores)."),
    ) -> None:
        """Train an agent (offline, then online) with periodic protocol-v1 evaluation on held-out tasks."""
        from smac_bench.cli.progress import progress_display
        from smac_bench.harness.launch import build_configs, run_all

        at_least(1, workers=workers, threads=threads)
        at_least(0, eval_workers=eval_workers)
        output_folder(out, "--out")
        configs = build_configs(algo, env, seed, seeds, preset, out, device, eval_workers)
        if halves:
            _check_halves(configs)
        with progress_display(console) as show:
            episodes = run_all(configs, resume=resume, workers=workers, progress=show, threads=threads,
                               halves=halves)
        _print_summary(episodes, [c.run_dir for c in configs])

    @app.command("plot")
    def plot(
        run_dirs: list[Path] = typer.Argument(..., help="Run folders (or their parent) from `smac-bench evaluate`."),
        out: Path = typer.Option(Path("curves.png"), help="Figure file to write."),
        context: str = typer.Option("exploration", help="exploration (test tasks) or offline (train tasks)."),
    ) -> None:
        """Score vs training step per algorithm: mean over seeds, 95% bootstrap band, one panel per domain."""
        from smac_bench.analysis.plots import plot_curves
        from smac_bench.harness.results import load_episodes

        if context not in ("exploration", "offline"):
            raise UserError(f"unknown --context {context!r}: choose exploration or offline")
        output_file(out, "--out")
        df = load_episodes(run_dirs)
        try:
            path = plot_curves(df, out, context)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        console.print(f"wrote {path}")

    @app.command("report")
    def report(
        run_dirs: list[Path] = typer.Argument(..., help="Run folders (or their parent) from `smac-bench evaluate`."),
        csv: Path = typer.Option(None, help="Also write the numeric table to this CSV file."),
        reps: int = typer.Option(2000, help="Bootstrap replicates."),
    ) -> None:
        """IQM and mean with 95% stratified-bootstrap CIs over seeds x tasks; normalised scores."""
        from smac_bench.analysis.report import display_table, report_table, standing_lines, write_report
        from smac_bench.harness.results import find_run_dirs

        df, refs = _runs_and_references(run_dirs, reps, csv)
        table = report_table(df, refs, reps=reps)
        _print_tables(display_table(table), f"smac-bench report (protocol {df['protocol'].iloc[0]})",
                      split_by=("env", "context"))
        console.print(CONTEXT_NOTE, style="dim")
        for line in standing_lines([str(d) for d in find_run_dirs(run_dirs)]):
            console.print(line, markup=False)
        if not refs:
            console.print("[dim]no reference scores in config.json: normalised columns omitted[/]")
        if csv:
            write_report(table, csv)
            console.print(f"wrote {csv}")

    analyze = typer.Typer(no_args_is_help=True, help="Diagnostics on finished runs.")
    app.add_typer(analyze, name="analyze")

    @analyze.command("claims")
    def claims(
        run_dirs: list[Path] = typer.Argument(..., help="Run folders (or their parent) of SMAC, the oracle and "
                                              "offline PEARL on one family."),
        csv: Path = typer.Option(None, help="Also write the table to this CSV file."),
        reps: int = typer.Option(10_000, help="Bootstrap replicates (whole seeds resampled)."),
        context: str = typer.Option("exploration", help="exploration: held-out tasks, the headline; offline: "
                                    "training tasks with offline context."),
        metric: str = typer.Option("score", help="score: normalised return; success: success rate in percent."),
    ) -> None:
        """The paper's claims: (a) SMAC > offline PEARL, (b) SMAC ~ oracle, (c) online gain (and, where
        `analyze zshift` wrote zshift_claim3.csv, the z-shift closing); 95% CIs over seeds."""
        from smac_bench.analysis.claims import claims_table, load_claim3
        from smac_bench.harness.results import find_run_dirs
        from smac_bench.utils.io import atomic_write_text

        df, refs = _runs_and_references(run_dirs, reps, csv)
        table = claims_table(df, refs, reps=reps, claim3=load_claim3(find_run_dirs(run_dirs)), context=context,
                             metric=metric)
        if table.empty:
            raise UserError("no SMAC, oracle or offline PEARL runs to compare in these folders")
        what = "headline exploration score" if (context, metric) == ("exploration", "score") else f"{context} {metric}"
        _print_tables(table.round(2), f"claims (protocol {df['protocol'].iloc[0]}, {what})")
        if csv:
            atomic_write_text(csv, table.to_csv(index=False))
            console.print(f"wrote {csv}", markup=False)

    @analyze.command("zshift")
    def zshift(
        run_dir: Path = typer.Argument(..., help="One run folder with checkpoints/offline_end (and online_end)."),
        out: Path = typer.Option(None, help="Folder for zshift.csv and zshift.png (default: the run folder)."),
        runs: int = typer.Option(4, help="Contexts per task and source."),
    ) -> None:
        """z-shift: posteriors from exploration vs offline context, at the offline and online ends (claim 3)."""
        import pandas as pd

        from smac_bench.analysis.zshift import zshift_analysis, zshift_summary

        if not run_dir.is_dir():
            raise UserError(f"{run_dir} is not a folder: pass one run folder written by `smac-bench evaluate`")
        at_least(1, runs=runs)
        output_folder(out, "--out")
        csv_path, fig_path, table = zshift_analysis(run_dir, out, num_runs=runs)
        _print_tables(zshift_summary(table).round(3), "z-shift (training tasks)")
        claim3 = csv_path.with_name("zshift_claim3.csv")
        shown = ["checkpoint", "within_kl", "between_kl", "kl_ratio", "return_gap", "episodes_return_gap"]
        table3 = pd.read_csv(claim3)
        _print_tables(table3[[c for c in shown if c in table3]].round(3),
                      "claim 3: within-task KL(explore || offline) / between-task KL; offline - exploration return")
        console.print(f"wrote {csv_path}, {claim3} and {fig_path}", markup=False)


def _runs_and_references(run_dirs: list[Path], reps: int, csv: Path | None):  # noqa: ANN202 - (DataFrame, dict)
    """Check ``--reps`` and ``--csv`` first, then every episode of the runs and their reference scores."""
    from smac_bench.analysis.report import reference_table
    from smac_bench.harness.results import find_run_dirs, load_episodes

    at_least(1, reps=reps)
    output_file(csv, "--csv")
    return load_episodes(run_dirs), reference_table([str(d) for d in find_run_dirs(run_dirs)])


def _check_halves(configs) -> None:  # noqa: ANN001 - RunConfigs
    """Refuse ``--halves`` before a first run spends a minute preparing the dataset; the CLI names the flag."""
    from smac_bench.harness.run import check_halves

    for cfg in configs:
        try:
            check_halves(cfg)
        except UserError as exc:
            raise UserError(f"--halves: {exc}; drop the flag") from None


def _print_tables(df, title: str, split_by: tuple[str, ...] = ()) -> None:  # noqa: ANN001 - a DataFrame
    for table in fitted_tables(df, title, split_by):
        console.print(table)


def _print_summary(episodes, run_dirs: list[Path]) -> None:  # noqa: ANN001 - a DataFrame
    """Report table of the runs just finished, and where their files are."""
    from smac_bench.analysis.report import display_table, reference_table, report_table

    if episodes is None or not len(episodes):
        return
    refs = reference_table([str(d) for d in run_dirs])
    table = display_table(report_table(episodes, refs, reps=1000))
    _print_tables(table, f"summary (protocol {episodes['protocol'].iloc[0]})", split_by=("env", "context"))
    console.print(CONTEXT_NOTE, style="dim")
    for d in run_dirs:
        console.print(f"results: {d}{os.sep}  (config.json, episodes.csv, metrics.csv, checkpoints/)")
    console.print("next: smac-bench plot / report " + " ".join(str(d) for d in run_dirs))
