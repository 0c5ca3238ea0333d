"""Regression fixtures: ``episodes.csv`` of smoke runs must match the recorded files bit for bit.

The files in ``tests/fixtures/smoke/`` were written by ``smac-bench evaluate --preset smoke``
(one run, so one torch thread; ``--halves`` for the ``-halves`` file) before the layers were
reorganised (issue #14). Refactors must not change a single number: the same seed has to give the
same random draws, the same updates and therefore the same evaluation episodes. The ant-dir files were
rewritten when the family moved to AntDir-v1 and its walking expert's dataset (issue #16). ``episodes.csv``
has no wall-clock column, so the files are compared byte for byte.

Cheetah-Vel runs always (its dataset builds in about a minute when missing); Ant-Dir and
Sawyer-Manip need datasets that take minutes to build, so they run only with
``SMAC_BENCH_ALL_FIXTURES=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from smac_bench.algos.base import agent_config
from smac_bench.harness.config import SCHEDULES, RunConfig
from smac_bench.harness.results import EPISODES_FILE
from smac_bench.harness.run import run_experiment

FIXTURES = Path(__file__).parent / "fixtures" / "smoke"
ALL_FIXTURES = os.environ.get("SMAC_BENCH_ALL_FIXTURES") == "1"
ALGOS = ("smac", "oracle", "offline-pearl")

CASES = [pytest.param(algo, "cheetah-vel", False, id=f"{algo}-cheetah-vel") for algo in ALGOS]
CASES.append(pytest.param("smac", "cheetah-vel", True, id="smac-cheetah-vel-halves"))
_SLOW = pytest.mark.skipif(not ALL_FIXTURES, reason="set SMAC_BENCH_ALL_FIXTURES=1 "
                           "(builds the ant-dir / sawyer-manip datasets: minutes)")
for _env in ("ant-dir", "sawyer-manip"):
    CASES += [pytest.param(algo, _env, False, id=f"{algo}-{_env}", marks=_SLOW) for algo in ALGOS]
    CASES.append(pytest.param("smac", _env, True, id=f"smac-{_env}-halves", marks=_SLOW))


@pytest.fixture
def one_torch_thread():
    """A single run of ``smac-bench evaluate`` uses one torch thread; matmul sums may depend on it."""
    before = torch.get_num_threads()
    yield 1
    torch.set_num_threads(before)


@pytest.mark.parametrize(("algo", "env", "halves"), CASES)
def test_smoke_run_matches_recorded_episodes(algo, env, halves, tmp_path, one_torch_thread):
    expected = FIXTURES / f"{algo}-{env}{'-halves' if halves else ''}.csv"
    if not expected.is_file():
        pytest.skip(f"no recorded fixture {expected.name}")
    cfg = RunConfig(algo=algo, env=env, seed=0, preset="smoke", device="cpu", out=tmp_path,
                    schedule=SCHEDULES["smoke"], agent_config=agent_config(algo, "smoke"))
    run_experiment(cfg, torch_threads=one_torch_thread, halves=halves)
    written = (cfg.run_dir / EPISODES_FILE).read_bytes()
    assert written == expected.read_bytes(), f"{cfg.run_dir / EPISODES_FILE} differs from {expected}"
