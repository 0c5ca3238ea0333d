"""The ``smac-bench`` command line: thin — it parses, calls the library, prints with rich.

Each area owns its sub-commands in its own module (``data/cli.py``, ``harness/cli.py``,
``leaderboard/cli.py``); this file only assembles them and turns :class:`UserError` into one line.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from smac_bench import __version__
from smac_bench.errors import UserError

console = Console()
err_console = Console(stderr=True)

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


def _register_subcommands() -> None:
    from smac_bench.data.cli import app as datasets_app
    from smac_bench.envs.cli import register as register_envs
    from smac_bench.harness.cli import register as register_harness
    from smac_bench.leaderboard.cli import app as leaderboard_app

    app.add_typer(datasets_app, name="datasets", help="Build, download, verify and publish offline datasets.")
    app.add_typer(leaderboard_app, name="leaderboard", help="Submit, validate, verify and render the leaderboard.")
    register_envs(app)
    register_harness(app)


_register_subcommands()


def main() -> None:
    """Console-script entry point: user mistakes print one line and exit with code 2."""
    try:
        app()
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
