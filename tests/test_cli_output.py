"""What the command line draws: tables that fit 80 columns, and progress that suits a log."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from smac_bench.cli.progress import LiveBars, PlainLines, progress_display
from smac_bench.cli.tables import CONTEXT_NOTE, fitted_tables, stack_ci
from smac_bench.utils.progress import Counter, WorkEvent

RUNS = Path(__file__).parent / "fixtures" / "harness" / "runs"


def _render(tables, width: int = 80) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    for table in tables:
        console.print(table)
    return console.file.getvalue()


def _display(run_dirs: list[Path]):
    from smac_bench.analysis.report import display_table, reference_table, report_table
    from smac_bench.harness.results import load_episodes

    episodes = load_episodes(run_dirs)
    return display_table(report_table(episodes, reference_table([str(d) for d in run_dirs]), reps=200))


@pytest.mark.parametrize(("runs", "split_by"), [
    ([RUNS / "smac-cheetah-vel-seed0"], ("env", "context")),  # the summary of one run
    ([RUNS / "smac-cheetah-vel-seed0", RUNS / "smac-cheetah-vel-seed1"], ("env", "context")),  # seeds: CIs
    ([RUNS], ("env", "context")),  # the report over every fixture run
])
def test_tables_fit_80_columns_without_splitting_a_value(runs, split_by):
    df = _display(runs)
    text = _render(fitted_tables(df, "summary", split_by))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    words = set(re.findall(r"[^\s,]+", text))
    for column in df.columns:
        if column in ("env", "algo") and df[column].nunique() == 1:
            assert f"{column} {df[column].iloc[0]}" in text  # constant: in the title
        for value in df[column].astype(str):
            for token in re.findall(r"[^\s,]+", value):  # every number and word of every cell printed whole
                assert token in words, (column, token, text)


def test_the_context_note_fits_80_columns():
    assert all(len(line) <= 80 for line in _render([CONTEXT_NOTE]).splitlines())


def test_constant_columns_go_to_the_title_and_cis_under_the_estimate():
    df = _display([RUNS / "smac-cheetah-vel-seed0", RUNS / "smac-cheetah-vel-seed1"])
    (table,) = fitted_tables(df[df["context"] == "exploration"], "summary")
    headers = [c.header for c in table.columns]
    assert "env" not in headers and "algo" not in headers and "seeds" not in headers
    assert "env cheetah-vel" in table.title and "algo smac" in table.title and "seeds 2" in table.title
    assert stack_ci("-52.3 [-60.1, -45.0]") == "-52.3\n[-60.1, -45.0]" and stack_ci("-52.3") == "-52.3"


def test_plain_progress_prints_a_line_per_tenth_not_per_update():
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None)
    assert isinstance(progress_display(console), PlainLines)  # a file is not a terminal
    with progress_display(console) as show:
        bar = Counter(show, "rollout smac-bench/x", 1000, "step")
        for _ in range(1000):
            bar.update(1)
    lines = out.getvalue().splitlines()
    assert 10 <= len(lines) <= 12, lines
    assert "\r" not in out.getvalue() and lines[-1].startswith("rollout smac-bench/x 100%")


def test_live_bars_on_a_terminal():
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    assert isinstance(progress_display(console), LiveBars)
    with progress_display(console) as show:
        show(WorkEvent("download x", 5e6, 1e7, "B"))
    assert "download x" in console.file.getvalue()
