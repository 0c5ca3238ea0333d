"""``smac-bench datasets ...`` sub-commands: list, info, build, download, verify, publish, card.

Thin: parse, call the library, print with rich. Library errors are :class:`UserError` and
reach the user as one line (see :mod:`smac_bench.cli`); builds and downloads report progress
events that :mod:`smac_bench.cli.progress` draws.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from smac_bench.cli.checks import at_least
from smac_bench.cli.consoles import console
from smac_bench.errors import UserError

app = typer.Typer(no_args_is_help=True)


def _parse_ids(spec: str | None) -> list[int] | None:
    """``"0-4,7"`` -> ``[0, 1, 2, 3, 4, 7]``."""
    if not spec:
        return None
    out: list[int] = []
    try:
        for part in spec.split(","):
            lo, _, hi = part.partition("-")
            out += list(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise UserError(f"--tasks {spec!r} is not a list of task ids like 0-4,7") from None
    return out


@contextlib.contextmanager
def _display(progress: bool) -> Iterator[Callable[..., None] | None]:
    """The progress callback to hand the library (``None`` with ``--no-progress``), drawn while open."""
    if not progress:
        yield None
        return
    from smac_bench.cli.progress import progress_display

    with progress_display(console) as show:
        yield show


@app.command("list")
def list_command() -> None:
    """List the smac-bench datasets: installed locally? published in the manifest?"""
    from smac_bench.data import known_ids, minari_io
    from smac_bench.data.checks import local_build
    from smac_bench.data.manifest import read_manifest

    published = read_manifest()["datasets"]
    table = Table("dataset", "installed", "episodes", "steps", "published archive")
    for dataset_id in known_ids():
        meta = minari_io.read_metadata(dataset_id) if minari_io.is_installed(dataset_id) else None
        entry = published.get(dataset_id)
        installed = ("yes (local build)" if local_build(meta) else "yes") if meta else "no"
        table.add_row(dataset_id, installed, str(meta["total_episodes"]) if meta else "-",
                      str(meta["total_steps"]) if meta else "-",
                      f"{entry['archive']} ({entry['archive_size'] / 1e6:.1f} MB)" if entry else "-")
    console.print(table)
    console.print(f"dataset root: {minari_io.datasets_root()}")


@app.command("info")
def info_command(name: str = typer.Argument(..., help="Family (cheetah-vel) or dataset id.")) -> None:
    """Show what a dataset holds and how it was made."""
    from smac_bench.data import dataset_metadata, minari_io, resolve
    from smac_bench.data.manifest import manifest_entry

    dataset_id = resolve(name)
    meta = dataset_metadata(dataset_id)
    sb = meta.get("smac_bench", {})
    rows = {
        "path": str(minari_io.dataset_dir(dataset_id)),
        "family / split": f"{sb.get('family')} / {sb.get('split')} ({len(sb.get('task_ids', []))} tasks)",
        "episodes / steps": f"{meta['total_episodes']} / {meta['total_steps']}",
        "size": f"{meta.get('dataset_size')} MB",
        "recipe / seed": f"{sb.get('recipe')} / {sb.get('seed')}",
        "behaviour policy": json.dumps(sb.get("behaviour_policy")),
        "ref scores (test tasks)": f"min {meta.get('ref_min_score'):.2f} (random), max {meta.get('ref_max_score'):.2f}",
        "requirements": ", ".join(meta.get("requirements", [])),
        "published": json.dumps({k: v for k, v in (manifest_entry(dataset_id) or {}).items() if k != "files"}),
    }
    table = Table(title=dataset_id, show_header=False)
    for k, v in rows.items():
        table.add_row(k, v)
    console.print(table)


@app.command("build")
def build_command(
    name: str = typer.Argument(..., help="Family (cheetah-vel) or dataset id."),
    from_scratch: bool = typer.Option(False, "--from-scratch", help="Retrain the behaviour snapshots first (slow)."),
    seed: int = typer.Option(None, help="Recipe seed (default: the recipe's)."),
    tasks: str = typer.Option(None, help="Training task ids, e.g. 0-9 (default: all)."),
    transitions_per_task: int = typer.Option(None, help="Transitions per task (default: the recipe's, 1200)."),
    snapshots: Path = typer.Option(None, help="Snapshot folder (default: datasets/snapshots/<family>)."),
    total_env_steps: int = typer.Option(None, help="With --from-scratch: SAC env steps (default: the recipe's)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Build a dataset from the shipped snapshots (about a minute), or --from-scratch."""
    from smac_bench.data import resolve
    from smac_bench.recipes.build import build

    at_least(0, seed=seed)
    at_least(1, transitions_per_task=transitions_per_task, total_env_steps=total_env_steps)
    dataset_id = resolve(name)
    t0 = time.perf_counter()
    with _display(progress) as show:
        summary = build(dataset_id, from_scratch=from_scratch, seed=seed, task_ids=_parse_ids(tasks),
                        transitions_per_task=transitions_per_task, snapshots=snapshots,
                        sac_overrides={"total_env_steps": total_env_steps} if total_env_steps else None,
                        progress=show)
    console.print(f"built {dataset_id}: {summary['episodes']} episodes, {summary['steps']} steps "
                  f"in {time.perf_counter() - t0:.1f} s")
    if summary.get("local_build"):
        console.print(f"note: its bytes differ from the published build's (this CPU rounds the behaviour policies' "
                      f"float32 arithmetic differently); runs on it work and record it, but numbers comparable "
                      f"with the reference runs need `smac-bench datasets download {dataset_id} --force`")


@app.command("download")
def download_command(
    name: str = typer.Argument(..., help="Family, dataset id, or hf://... (Minari's own download)."),
    mirror: str = typer.Option(None, help="Mirror URL (http(s):// or file://); default $SMAC_BENCH_MIRROR."),
    force: bool = typer.Option(False, help="Download even if an identical copy is installed."),
    retries: int = typer.Option(3, help="Automatic resumes after a cut connection."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Download, verify (sha256) and install a dataset; resumes interrupted downloads."""
    from smac_bench.data.mirror import download

    at_least(0, retries=retries)
    with _display(progress) as show:
        folder = download(name, mirror, progress=show, force=force, retries=retries)
    console.print(f"installed {folder}")


@app.command("verify")
def verify_command(name: str = typer.Argument(..., help="Family or dataset id.")) -> None:
    """Recompute checksums and check every episode against the task family."""
    from smac_bench.data import resolve
    from smac_bench.data.checks import verify

    report = verify(resolve(name))
    for line in report.ok:
        console.print(f"[green]ok[/] {escape(line)}")
    for line in report.problems:
        console.print(f"[red]problem[/] {escape(line)}", highlight=False)
    if report.problems:
        raise UserError(f"{report.dataset_id} failed verification ({len(report.problems)} problems): "
                        f"rebuild with `smac-bench datasets build {report.dataset_id}` or download it again")


@app.command("publish")
def publish_command(
    name: str = typer.Argument(..., help="Family or dataset id."),
    to: Path = typer.Option(..., "--to", help="Folder a mirror serves (archive + manifest.json go here)."),
    manifest: Path = typer.Option(None, help="Shipped manifest to update (default datasets/manifest.json)."),
) -> None:
    """Write a dataset's archive and manifest entry for a mirror."""
    from smac_bench.data import resolve
    from smac_bench.data.mirror import publish

    entry = publish(resolve(name), to, manifest)
    console.print(f"wrote {Path(to) / entry['archive']} ({entry['archive_size']} bytes, sha256 {entry['sha256']})")


@app.command("card")
def card_command(
    name: str = typer.Argument(..., help="Family or dataset id."),
    out: Path = typer.Option(None, help="Folder for the card and histogram (default: datasets/)."),
    build_seconds: float = typer.Option(None, help="Measured `datasets build` wall time to record."),
    note: list[str] = typer.Option(None, help="A caveat for the card's Notes section (repeatable)."),
) -> None:
    """Write the dataset card (Markdown) and return histogram (PNG) from the installed dataset."""
    from smac_bench.data import family_of, resolve
    from smac_bench.data.card import write_card

    dataset_id = resolve(name)
    extra: dict[str, str] = {}
    if build_seconds:
        extra["`smac-bench datasets build` (default recipe, this machine)"] = f"{build_seconds:.0f} s"
    try:
        from smac_bench.recipes.snapshots import load_index, snapshot_dir

        index = load_index(snapshot_dir(family_of(dataset_id)))
        cfg = index["sac_config"]
        nets = f"{'x'.join(map(str, cfg['hidden']))} nets, {cfg['threads']} torch thread(s), shared 2-core CPU"
        if "train_wall_s" not in index:  # picked from a long expert run
            last = index["learning_curve"][-1]
            extra["expert run"] = (f"{last['wall_s'] / 3600:.1f} h wall for {last['env_steps']:.0f} env steps and "
                                   f"{last['updates']:.0f} updates ({nets})")
        else:
            extra["`--from-scratch` SAC training"] = (
                f"{index['train_wall_s'] / 60:.1f} min wall for {cfg['total_env_steps']} env steps and "
                f"{index['updates']} updates ({nets}), plus {index['total_wall_s'] - index['train_wall_s']:.0f} s "
                "scoring snapshots on the test tasks")
    except UserError:
        pass  # scripted recipes have no snapshots
    path = write_card(dataset_id, out, extra, notes=note or [])
    console.print(f"wrote {path}")
