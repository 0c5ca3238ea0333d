"""The ``smac-bench`` command line: the only part of smac-bench that knows typer and rich.

Thin: each command parses its options, calls the library and prints the result. One module per
command group — :mod:`.datasets`, :mod:`.envs` (``envs``, ``render``), :mod:`.evaluate`
(``evaluate``, ``plot``, ``report``, ``analyze``), :mod:`.sweep` and :mod:`.leaderboard`; this file assembles
them and turns a :class:`~smac_bench.errors.UserError` into one line on stderr (exit code 2).
The library reports progress as events (:mod:`smac_bench.utils.progress`); :mod:`.progress`
draws them.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from smac_bench import __version__
from smac_bench.cli import datasets, envs, evaluate, leaderboard, sweep
from smac_bench.cli.consoles import console, err_console
from smac_bench.errors import UserError

app = typer.Typer(
    name="smac-bench",
    help="Benchmark suite and datasets for offline meta-RL with online self-supervision (SMAC).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"smac-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Offline meta-RL benchmark: task families, Minari datasets, SMAC / PEARL / oracle agents."""


app.add_typer(datasets.app, name="datasets", help="Build, download, verify and publish offline datasets.")
app.add_typer(leaderboard.app, name="leaderboard", help="Submit, validate, verify and render the leaderboard.")
envs.register(app)
evaluate.register(app)
sweep.register(app)


def main() -> None:
    """Console-script entry point: user mistakes print one line and exit with code 2."""
    try:
        app()
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)


__all__ = ["app", "console", "err_console", "main"]
