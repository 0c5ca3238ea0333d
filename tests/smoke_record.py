"""Recorded smoke runs, one set per CPU arithmetic: where they live and how this machine is named.

A smoke run's ``episodes.csv`` is a pure function of the code, the seed and the CPU's float32 rounding:
matrix products and vectorised ``tanh``/``exp`` round differently on CPUs with other vector units (an
AVX-512 Xeon and the machine that recorded the first set disagree in the last bits, and training grows
that into other episodes). So each set is stored under the fingerprint of the arithmetic that made it,
``tests/fixtures/smoke/<fingerprint>/``, and compared byte for byte only on a machine with the same
fingerprint. Record this machine's set with ``SMAC_BENCH_RECORD_FIXTURES=1 pytest tests/test_smoke_fixtures.py``
(``SMAC_BENCH_ALL_FIXTURES=1`` too for ant-dir and sawyer-manip).
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).parent / "fixtures" / "smoke"
RECORD = os.environ.get("SMAC_BENCH_RECORD_FIXTURES") == "1"


@cache
def numerics_fingerprint() -> str:
    """12 hex digits naming this CPU's float32 results in the kernels runs use, on one torch thread.

    An MLP's forward and backward pass and an Adam step at training's batch size, ``addmm`` at the
    recipes' batch sizes, and numpy's ``tanh`` and ``exp`` (the behaviour policies' squashing).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            net = torch.nn.Sequential(torch.nn.Linear(29, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                      torch.nn.ReLU(), torch.nn.Linear(256, 12))
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            x = torch.randn(256, 29)
            out = net(x)
            loss = (out.tanh() - x[:, :12]).pow(2).mean() + 1e-3 * out.exp().mean()
            loss.backward()
            opt.step()
            pieces = [out.detach(), net[0].weight.detach(), net[4].bias.detach()]
            pieces += [torch.addmm(net[2].bias, torch.randn(n, 256), net[2].weight.T).detach() for n in (1, 7, 100)]
        arrays = [p.numpy() for p in pieces]
        arrays += [np.tanh(arrays[0]), np.exp(np.clip(arrays[0], -20, 2))]
    finally:
        torch.set_num_threads(before)
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()[:12]


def fixture_path(name: str) -> Path:
    """Where the smoke run ``name`` (e.g. ``smac-cheetah-vel``) recorded on this CPU's arithmetic lives."""
    return FIXTURES / numerics_fingerprint() / f"{name}.csv"


@cache
def smoke_episodes(name: str) -> bytes:
    """``episodes.csv`` of smoke run ``name`` (``algo-env``, seed 0, one torch thread): the recorded file of
    this CPU's arithmetic, or, where none is recorded, a run made now (once per test session)."""
    import tempfile

    from smac_bench.harness.results import EPISODES_FILE
    from smac_bench.harness.run import run_experiment

    if fixture_path(name).is_file():
        return fixture_path(name).read_bytes()
    algo, env = name.split("-", 1)
    with tempfile.TemporaryDirectory() as out:
        cfg = smoke_config(algo, env, Path(out))
        run_experiment(cfg, torch_threads=1)
        return (cfg.run_dir / EPISODES_FILE).read_bytes()


def smoke_config(algo: str, env: str, out: Path):
    """The run config of ``smac-bench evaluate --algo ALGO --env ENV --preset smoke --seeds 0 --out OUT``."""
    from smac_bench.algos.base import agent_config
    from smac_bench.harness.config import SCHEDULES, RunConfig

    return RunConfig(algo=algo, env=env, seed=0, preset="smoke", device="cpu", out=out,
                     schedule=SCHEDULES["smoke"], agent_config=agent_config(algo, "smoke"))
