"""Regression fixtures: ``episodes.csv`` of smoke runs must match the recorded files bit for bit.

The files in ``tests/fixtures/smoke/<fingerprint>/`` were written by these tests in recording mode (one
run, one torch thread, as ``smac-bench evaluate --preset smoke``; ``--halves`` for the ``-halves`` files) on
a CPU whose float32 arithmetic has that fingerprint (``smoke_record.py``). Refactors must not change a single
number: the same seed has to give the same random draws, the same updates and therefore the same evaluation
episodes. ``episodes.csv`` has no wall-clock column, so the files are compared byte for byte. A machine whose
arithmetic has no recorded set skips, naming its fingerprint and how to record one; the first set (recorded
before fingerprints, on a CPU that rounds differently from an AVX-512 Xeon) is in git history at ``cfe62b3``.

Cheetah-Vel runs always (its dataset builds in seconds when missing); Ant-Dir and Sawyer-Manip need datasets
that take minutes to build, so they run only with ``SMAC_BENCH_ALL_FIXTURES=1``.
"""

from __future__ import annotations

import os

import pytest
import torch
from smoke_record import RECORD, fixture_path, numerics_fingerprint, smoke_config

from smac_bench.harness.results import EPISODES_FILE
from smac_bench.harness.run import run_experiment

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
    expected = fixture_path(f"{algo}-{env}{'-halves' if halves else ''}")
    if not expected.is_file() and not RECORD:
        pytest.skip(f"no {expected.name} recorded on this CPU's float32 arithmetic (fingerprint "
                    f"{numerics_fingerprint()}): record it with SMAC_BENCH_RECORD_FIXTURES=1")
    cfg = smoke_config(algo, env, tmp_path)
    run_experiment(cfg, torch_threads=one_torch_thread, halves=halves)
    written = (cfg.run_dir / EPISODES_FILE).read_bytes()
    if RECORD and not expected.is_file():
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_bytes(written)
        pytest.skip(f"recorded {expected}")
    assert written == expected.read_bytes(), f"{cfg.run_dir / EPISODES_FILE} differs from {expected}"
