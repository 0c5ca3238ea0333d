"""``smac-bench leaderboard submit | validate | verify | render``: thin wrappers over the library."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.markup import escape

from smac_bench.cli.consoles import console
from smac_bench.errors import UserError

app = typer.Typer(no_args_is_help=True)


def _parse_compute(items: list[str]) -> dict[str, object]:
    """``["online_env_steps=200000", "gpu_hours=1.5", "notes=..."]`` -> typed dict."""
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--compute takes KEY=VALUE, got {item!r}")
        if key in ("offline_updates", "online_env_steps"):
            try:
                out[key] = int(value)
            except ValueError:
                raise UserError(f"--compute {key} must be an integer, got {value!r}") from None
        elif key in ("wall_clock_hours", "gpu_hours"):
            try:
                out[key] = float(value)
            except ValueError:
                raise UserError(f"--compute {key} must be a number, got {value!r}") from None
        elif key == "notes":
            out[key] = value
        else:
            raise UserError(f"unknown --compute key {key!r}: offline_updates, online_env_steps, wall_clock_hours, "
                            "gpu_hours or notes")
    return out


@app.command("submit")
def submit_command(
    run_dirs: list[Path] = typer.Argument(..., help="Run folders of `smac-bench evaluate --out`, one per seed."),
    method: str = typer.Option(..., "--method", help="Display name of the method."),
    author: list[str] = typer.Option([], "--author", help="An author (repeat for several)."),
    paper_url: str = typer.Option(None, help="Link to the paper (http/https)."),
    code_url: str = typer.Option(None, help="Link to the code (http/https)."),
    hardware: str = typer.Option("", help="Hardware the runs used, e.g. '1x A100, 16 CPU cores'."),
    compute: list[str] = typer.Option([], "--compute", help="Declared budget KEY=VALUE: offline_updates, "
                                      "online_env_steps, wall_clock_hours, gpu_hours, notes."),
    dataset: str = typer.Option(None, help="Dataset id, if config.json does not name it."),
    notes: str = typer.Option(None, help="Free-text notes shown with the entry."),
    checkpoints: bool = typer.Option(True, help="Include the final safetensors checkpoints (needed for verify)."),
    out: Path = typer.Option(None, help="Submission folder (default: <root>/submissions/<date>_<method>)."),
    root: Path = typer.Option(Path("leaderboard"), help="The leaderboard folder."),
) -> None:
    """Package run folders as a leaderboard submission and validate it."""
    from smac_bench.leaderboard.submit import SubmissionInfo, build_submission, default_out

    info = SubmissionInfo(method=method, authors=author or [os.environ.get("USER", "anonymous")],
                          paper_url=paper_url, code_url=code_url, hardware=hardware,
                          compute_budget=_parse_compute(compute), dataset_id=dataset, notes=notes,
                          include_checkpoints=checkpoints)
    target = out or default_out(method, root)
    entry = build_submission(run_dirs, info, target)
    console.print(f"wrote {target}", markup=False)
    if entry is not None:
        console.print_json(json.dumps(entry.summary()))


@app.command("validate")
def validate_command(
    path: Path = typer.Argument(..., help="A submission folder."),
    incoming: bool = typer.Option(False, help="A new submission: refuse a verification.json inside it."),
) -> None:
    """Check a submission (schema, protocol, dataset, task split, seeds, episodes) and recompute its scores."""
    from smac_bench.leaderboard.validate import validate_submission

    entry = validate_submission(path, incoming=incoming)
    for warning in entry.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    console.print(f"[green]valid[/] {escape(str(path))}")
    console.print_json(json.dumps(entry.summary()))


@app.command("verify")
def verify_command(
    path: Path = typer.Argument(..., help="A submission folder with checkpoints."),
    device: str = typer.Option("cpu", help="Torch device for the re-evaluation."),
    salt: str = typer.Option(None, envvar="SMAC_BENCH_VERIFY_SALT",
                             help="Private salt for the evaluation seeds (default: the public one)."),
) -> None:
    """Re-evaluate the submitted checkpoints on unchosen seeds; writes verification.json."""
    from smac_bench.leaderboard.verify import DEFAULT_SALT, verify_submission

    def report(seed: int, eval_seed: int) -> None:
        console.print(f"re-evaluating seed {seed} on evaluation seed {eval_seed} ...", highlight=False)

    record = verify_submission(path, salt=salt or DEFAULT_SALT, device=device, progress=report)
    mark = "[green]verified[/]" if record["verified"] else "[red]not verified[/]"
    console.print(f"{mark} {escape(str(path))}: submitted IQM {record['submitted']['iqm']:.3f} "
                  f"{record['submitted']['ci95']}, re-evaluated {record['reevaluated']['iqm']:.3f} "
                  f"{record['reevaluated']['ci95']}", highlight=False)


@app.command("render")
def render_command(
    root: Path = typer.Option(Path("leaderboard"), help="The leaderboard folder (holds submissions/)."),
    plots: bool = typer.Option(True, help="Embed comparison plots in index.html."),
) -> None:
    """Render <root>/README.md and <root>/index.html from every valid submission."""
    from smac_bench.leaderboard.render import render

    board = render(root, plots=plots)
    count = sum(len(v) for v in board.domains.values())
    console.print(f"rendered {count} entr{'y' if count == 1 else 'ies'} in {len(board.domains)} domain(s) "
                  f"into {root}/README.md and {root}/index.html")
    for name, reason in board.rejected:
        console.print(f"[yellow]skipped[/] {escape(name)}: {escape(reason)}", highlight=False)
