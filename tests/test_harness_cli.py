"""The harness CLI: user mistakes give one line on stderr and exit code 2; plot/report run on fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smac_bench import cli
from smac_bench.cli import consoles

RUNS = Path(__file__).parent / "fixtures" / "harness" / "runs"
OTHER = Path(__file__).parent / "fixtures" / "harness" / "runs_other_protocol"


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """``smac-bench ARGS`` in-process (a subprocess per case would spend seconds importing torch)."""
    monkeypatch.setattr(sys, "argv", ["smac-bench", *args])
    monkeypatch.setattr(consoles.err_console, "width", 400)  # as a wide terminal: rich wraps at 80 otherwise
    monkeypatch.setattr(consoles.console, "width", 250)
    with pytest.raises(SystemExit) as exc:
        cli.main()
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.mark.parametrize(("args", "needle"), [
    (("evaluate", "--algo", "nope"), "unknown algo 'nope'"),
    (("evaluate", "--algo", "smac", "--env", "pong"), "unknown env 'pong'"),
    (("evaluate", "--preset", "huge"), "unknown preset 'huge'"),
    (("evaluate", "--seeds", "4-1"), "bad --seeds"),
    (("report", "{empty}"), "no results found"),
    (("report", str(RUNS), str(OTHER)), "mix protocol versions"),
    (("plot", "{empty}/missing"), "does not exist"),
    (("analyze", "zshift", "{empty}"), "has no config.json"),
])
def test_user_errors_are_one_line(monkeypatch, capsys, tmp_path, args, needle):
    args = tuple(a.replace("{empty}", str(tmp_path)) for a in args)
    code, _, err = _main(monkeypatch, capsys, *args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err


def test_one_line_error_through_the_real_entry_point():
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}
    res = subprocess.run([sys.executable, "-c", "from smac_bench.cli import main; main()", "evaluate", "--algo",
                          "nope"], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_report_and_plot_on_fixtures(monkeypatch, capsys, tmp_path):
    code, out, err = _main(monkeypatch, capsys, "report", str(RUNS), "--reps", "200", "--csv", str(tmp_path / "r.csv"))
    assert code == 0, err
    assert "IQM" in out and "norm. IQM" in out and (tmp_path / "r.csv").is_file()
    code, out, err = _main(monkeypatch, capsys, "plot", str(RUNS), "--out", str(tmp_path / "c.png"))
    assert code == 0, err
    assert (tmp_path / "c.png").stat().st_size > 10_000


def test_evaluate_happy_path_prints_summary_and_file_locations(monkeypatch, capsys, tmp_path):
    """`smac-bench evaluate` end to end, with the toy family and scripted agent standing in."""
    sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "harness"))
    import harness_toy

    from smac_bench.harness import launch, run

    harness_toy.register()
    monkeypatch.setattr(launch, "prepare_dataset", lambda env, progress=None: None)
    monkeypatch.setattr(run, "family_setup", lambda name: harness_toy.toy_spec(horizon=10))
    monkeypatch.setattr(run, "load_offline_buffer", lambda env, device: (
        harness_toy.toy_buffer(), "toy/data-v0", {"random": -20.0, "expert": 20.0}))
    code, out, err = _main(monkeypatch, capsys, "evaluate", "--algo", "toy-scripted", "--preset", "smoke",
                           "--out", str(tmp_path))
    assert code == 0, err
    run_dir = tmp_path / "toy-scripted-cheetah-vel-seed0"
    assert "summary (protocol v2(R=1,K=1,H=200))" in out and str(run_dir) in out
    assert "algo toy-scripted" in out and "exploration: held-out test tasks" in out
    for name in ("config.json", "episodes.csv", "metrics.csv", "checkpoints/online_end"):
        assert (run_dir / name).exists()
    code, _, err = _main(monkeypatch, capsys, "evaluate", "--algo", "toy-scripted", "--preset", "smoke",
                         "--out", str(tmp_path))
    assert code == 2 and "--resume" in err
    code, out, err = _main(monkeypatch, capsys, "evaluate", "--algo", "toy-scripted", "--preset", "smoke",
                           "--out", str(tmp_path), "--resume")
    assert code == 0, err


@pytest.mark.parametrize("args", [("--algo", "offline-pearl"), ("--algo", "smac", "--device", "cuda")])
def test_halves_refused_before_the_dataset_is_prepared(monkeypatch, capsys, args):
    from smac_bench.harness import launch

    def prepare(env, progress=None):
        raise AssertionError(f"prepared the {env} dataset before refusing --halves")

    monkeypatch.setattr(launch, "prepare_dataset", prepare)
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)  # as on a GPU machine
    code, _, err = _main(monkeypatch, capsys, "evaluate", *args, "--halves")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--halves: " in err and "drop the flag" in err, err
