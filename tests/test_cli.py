"""The command line: help, version, envs, and one-line errors for user mistakes."""

from __future__ import annotations

import subprocess
import sys

import smac_bench


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from smac_bench.cli import main; main()", *args],
        capture_output=True, text=True, timeout=120,
    )


def test_help_and_version():
    out = _cli("--help")
    assert out.returncode == 0
    for command in ("evaluate", "datasets", "envs", "leaderboard"):
        assert command in out.stdout
    out = _cli("--version")
    assert out.returncode == 0 and smac_bench.__version__ in out.stdout


def test_envs_lists_every_family():
    out = _cli("envs")
    assert out.returncode == 0
    assert "cheetah-vel" in out.stdout and "ant-dir" in out.stdout


def test_import_is_quiet():
    out = subprocess.run([sys.executable, "-W", "error", "-c", "import smac_bench"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""


def test_claims_read_training_success_and_refuse_a_metric_the_runs_lack():
    from pathlib import Path

    baselines = Path(__file__).parents[1] / "baselines"
    out = _cli("analyze", "claims", str(baselines / "sawyer-manip-standard"), "--context", "offline",
               "--metric", "success", "--reps", "500")
    assert out.returncode == 0, out.stderr
    assert "offline success" in out.stdout and "True" in out.stdout  # SMAC beats offline PEARL on training tasks
    out = _cli("analyze", "claims", str(baselines / "cheetah-vel-standard"), "--metric", "success")
    assert out.returncode != 0 and "record no success" in out.stderr and "Traceback" not in out.stderr
    out = _cli("analyze", "claims", str(baselines / "cheetah-vel-standard"), "--context", "held-out")
    assert out.returncode != 0 and "--context must be one of exploration, offline" in out.stderr
