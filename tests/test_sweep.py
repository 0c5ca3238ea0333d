"""``smac-bench sweep``: grid files, shared offline phases, restart, failures, and Ray with a killed worker."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from smoke_record import smoke_episodes

from smac_bench.errors import UserError
from smac_bench.harness.sweep import (
    CellResult,
    Grid,
    Sweep,
    _local_backend,
    build_plan,
    load_sweep_file,
    log_path,
    run_sweep,
)


def _same_as_fixture(run_dir: Path, algo: str) -> bool:
    """The run's episodes equal a separate smoke run's, bit for bit (``smoke_record.smoke_episodes``)."""
    return (run_dir / "episodes.csv").read_bytes() == smoke_episodes(f"{algo}-cheetah-vel")


def test_sweep_file_is_parsed_and_mistakes_are_one_line(tmp_path):
    good = tmp_path / "sweep.toml"
    good.write_text('out = "runs/ref"\npreset = "smoke"\n[[grid]]\nalgos = ["smac", "oracle"]\n'
                    'envs = "cheetah-vel"\nseeds = "0-2"\n[[grid]]\nalgos = "smac"\nenvs = "ant-dir"\n'
                    'seeds = [3]\nout = "runs/ant"\n')
    sweep = load_sweep_file(good)
    assert sweep.out == Path("runs/ref") and sweep.grids[0].seeds == (0, 1, 2)
    assert build_plan(sweep).configs[3].run_dir == Path("runs/ant/smac-ant-dir-seed3")
    plan = build_plan(sweep)
    assert [c.run_name for c in plan.configs][:3] == [f"smac-cheetah-vel-seed{s}" for s in range(3)]
    assert plan.donors == [None] * 4 + [0, 1, 2]  # each oracle forks the SMAC run of its seed
    for text, needle in [("[[grid]]\nalgos = ['smac']\nenvs = ['cheetah-vel']\n", "missing seeds"),
                         ("[[grid]]\nalgos = ['smac']\nenvs = ['x']\nseeds = '0'\n", "unknown env 'x'"),
                         ("thread = 2\n[[grid]]\n", "unknown key(s) thread"),
                         ("[[grid]]\nalgos=['smac']\nenvs=['cheetah-vel']\nseeds=[-1]\n", "seeds must be"),
                         ("[[grid\n", "not a readable TOML file")]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(UserError, match=needle.replace("(", r"\(").replace(")", r"\)")):
            build_plan(load_sweep_file(bad))


def test_local_sweep_shares_the_offline_phase_restarts_and_reports_failures(tmp_path):
    out = tmp_path / "runs"
    broken = out / "offline-pearl-cheetah-vel-seed0" / "checkpoints" / "latest"
    broken.mkdir(parents=True)
    (broken / "state.json").write_text('{"offline_done": "oops"')  # an interrupted cell whose state is damaged
    sweep = Sweep(grids=(Grid(("smac", "oracle", "offline-pearl"), ("cheetah-vel",), (0,), "smoke"),), out=out)
    events = []
    results = {r.run_dir.name: r for r in run_sweep(sweep, workers=1, progress=events.append)}
    assert results["smac-cheetah-vel-seed0"].status == "done"
    oracle = results["oracle-cheetah-vel-seed0"]
    assert oracle.status == "done" and oracle.forked_from == out / "smac-cheetah-vel-seed0"
    # the fork gives the numbers of a separate run, bit for bit
    assert _same_as_fixture(out / "smac-cheetah-vel-seed0", "smac")
    assert _same_as_fixture(out / "oracle-cheetah-vel-seed0", "oracle")
    failed = results["offline-pearl-cheetah-vel-seed0"]
    assert failed.status == "failed" and "Traceback" in failed.message and "state.json" not in str(out / ".sweep")
    assert log_path(build_plan(sweep).configs[-1]).is_file()
    assert [e.status for e in events].count("failed") == 1 and events[-1].done_cells == 3
    # a fresh clone keeps the donor's policy but not its full agent checkpoint: the oracle trains its own
    shutil.rmtree(out / "smac-cheetah-vel-seed0" / "checkpoints" / "offline_end" / "agent")
    shutil.rmtree(out / "oracle-cheetah-vel-seed0")
    again = {r.run_dir.name: r for r in run_sweep(sweep, workers=1)}
    assert again["oracle-cheetah-vel-seed0"].status == "done" and again["oracle-cheetah-vel-seed0"].forked_from is None
    assert _same_as_fixture(out / "oracle-cheetah-vel-seed0", "oracle")
    shutil.rmtree(out / "oracle-cheetah-vel-seed0" / "checkpoints" / "latest")  # pruned to policy checkpoints
    again = run_sweep(Sweep(grids=(Grid(("smac", "oracle"), ("cheetah-vel",), (0,), "smoke"),), out=out), workers=1)
    assert [r.status for r in again] == ["skipped", "skipped"]


def _ray_worker_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "ray::run_cell"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_ray_sweep_survives_a_killed_worker_and_resumes(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("HOME", str(tmp_path))  # Ray writes an auth token under the home folder
    short = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=short)
    try:
        out = tmp_path / "runs"
        sweep = Sweep(grids=(Grid(("smac",), ("cheetah-vel",), (0,), "smoke"),), out=out)
        results = []
        thread = threading.Thread(target=lambda: results.extend(run_sweep(sweep, backend="ray")))
        thread.start()
        latest = out / "smac-cheetah-vel-seed0" / "checkpoints" / "latest"
        deadline = time.time() + 300
        while not latest.is_dir() and time.time() < deadline:  # killed after its first checkpoint
            time.sleep(0.2)
        for pid in _ray_worker_pids():
            os.kill(pid, signal.SIGKILL)
        thread.join(timeout=300)
        assert results and results[0].status == "failed" and "worker died" in results[0].message
        resumed = run_sweep(sweep, backend="ray")
        assert resumed[0].status == "done"
        assert _same_as_fixture(out / "smac-cheetah-vel-seed0", "smac")  # the resumed run is exact
    finally:
        ray.shutdown()
        shutil.rmtree(short, ignore_errors=True)


def test_the_reference_sweep_file_plans_every_reference_table():
    sweep = load_sweep_file(Path(__file__).parent.parent / "baselines" / "sweep.toml")
    plan = build_plan(sweep)
    folders = {c.run_dir.parent.name: c.preset for c in plan.configs}
    assert folders == {"cheetah-vel-standard": "standard", "ant-dir-standard": "standard",
                       "sawyer-manip-standard": "standard"} and len(plan.configs) == 55
    assert sum(d is not None for d in plan.donors) == 15  # the oracles fork SMAC's offline phases
    sawyer = [c for c in plan.configs if c.env == "sawyer-manip"]
    assert {c.schedule.offline_updates for c in sawyer} == {16_000}  # the family's budget, bounds included


def test_sweep_command_mistakes_are_one_line(tmp_path):
    import sys

    for args, needle in [(["sweep"], "give a sweep file"),
                         (["sweep", "x.toml", "--algos", "smac"], "not both"),
                         (["sweep", str(tmp_path / "none.toml")], "does not exist")]:
        out = subprocess.run([sys.executable, "-c", "from smac_bench.cli import main; main()", *args],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and needle in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_ray_stays_optional():
    import sys

    code = "import sys, smac_bench.cli, smac_bench.harness.sweep; assert 'ray' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120).returncode == 0


def _killed_or_done(run: str, *_: object) -> CellResult:
    if run == "killed":
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer does
    return CellResult(Path(run), "done")


def test_a_local_pool_whose_worker_is_killed_reports_the_cell_and_runs_the_next_one():
    submit, wait_any, close = _local_backend(1, target=_killed_or_done)
    try:
        _, died = wait_any([submit("killed", None, 1, False, None)])
        assert isinstance(died, str) and "worker died" in died and "--workers" in died
        _, after = wait_any([submit("next", None, 1, False, None)])  # before: BrokenProcessPool, sweep over
        assert after == CellResult(Path("next"), "done")
    finally:
        close()
