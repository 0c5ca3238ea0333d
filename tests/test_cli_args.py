"""Every numeric and path argument is checked before any work starts: one line, naming the flag (issue #19)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from smac_bench.cli import app
from smac_bench.errors import UserError

FIXTURE_RUNS = "tests/fixtures/harness"


@pytest.mark.parametrize("args,needle", [
    (["evaluate", "--seed", "-1"], "seed -1 is out of range"),
    (["evaluate", "--seed", "4294967296"], "seed 4294967296 is out of range"),
    (["evaluate", "--seeds", "0-4294967296"], "out of range"),
    (["evaluate", "--threads", "-1"], "--threads must be 1 or more"),
    (["evaluate", "--workers", "0"], "--workers must be 1 or more"),
    (["evaluate", "--eval-workers", "-1"], "--eval-workers must be 0 or more"),
    (["evaluate", "--out", "{file}"], "is a file; give a folder"),
    (["evaluate", "--out", "{file}/below"], "is a file, not a folder"),
    (["report", FIXTURE_RUNS, "--reps", "0"], "--reps must be 1 or more"),
    (["report", FIXTURE_RUNS, "--reps", "-5"], "--reps must be 1 or more"),
    (["report", FIXTURE_RUNS, "--csv", "{dir}"], "is a folder; give a file name"),
    (["plot", FIXTURE_RUNS, "--out", "{dir}"], "is a folder; give a file name"),
    (["analyze", "zshift", FIXTURE_RUNS, "--runs", "0"], "--runs must be 1 or more"),
    (["datasets", "download", "cheetah-vel", "--retries", "-1"], "--retries must be 0 or more"),
    (["datasets", "build", "cheetah-vel", "--transitions-per-task", "0"], "--transitions-per-task must be 1"),
    (["sweep", "--algos", "smac", "--envs", "cheetah-vel", "--seeds", "0", "--threads", "0"], "--threads must be 1"),
])
def test_bad_arguments_are_refused_before_any_work(tmp_path, monkeypatch, args, needle):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "empty"))  # nothing to build or load
    file = tmp_path / "a-file"
    file.write_text("x")
    args = [a.format(file=file, dir=tmp_path) for a in args]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, UserError), (result.exception, result.output)
    assert needle in str(result.exception) and "\n" not in str(result.exception)
    assert not (tmp_path / "empty").exists()  # refused before a dataset build started


def test_user_text_never_reaches_rich_markup(tmp_path):
    """A message holding '[/]' or a style tag prints literally, in one line (was a MarkupError traceback)."""
    code = ("from smac_bench.cli import app, main\nfrom smac_bench.errors import UserError\n"
            "@app.command('boom')\ndef boom():\n    raise UserError('protocol v1[/] and v1[black on black]x[/]')\n"
            "main()")
    out = subprocess.run([sys.executable, "-c", code, "boom"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "protocol v1[/] and v1[black on black]x[/]" in out.stderr
