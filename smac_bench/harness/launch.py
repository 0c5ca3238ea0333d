"""Resolve ``smac-bench evaluate`` options into run configs and run them (in parallel for several seeds).

Progress is reported, not drawn: every run sends :class:`~smac_bench.harness.run.ProgressEvent` s
(worker processes through a queue) and a dataset build sends
:class:`~smac_bench.utils.progress.WorkEvent` s to the caller's ``progress`` callback; the CLI
draws them.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from pathlib import Path

import pandas as pd

from smac_bench.errors import UserError
from smac_bench.harness.config import RunConfig, parse_seeds, schedule_preset
from smac_bench.harness.datasets import prepare_dataset
from smac_bench.harness.run import ProgressEvent, check_halves, run_experiment
from smac_bench.utils.progress import WorkEvent

RunProgress = Callable[[ProgressEvent | WorkEvent], None]


def build_configs(
    algo: str, env: str, seed: int | None, seeds: str | None, preset: str, out: Path, device: str,
    eval_workers: int | None = None,
) -> list[RunConfig]:
    """Validate the options (one-line :class:`UserError` s) and build one config per seed."""
    from smac_bench.algos.base import agent_config
    from smac_bench.envs import family_spec

    family = family_spec(env).name
    schedule = schedule_preset(preset, family)
    agent_cfg = agent_config(algo, preset, family)  # a one-line UserError naming the agents for an unknown one
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise UserError(f"unknown device {device!r}: use cpu or cuda")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UserError(f"device {device!r} was asked for but torch sees no CUDA device; use cpu")
    seed_list = parse_seeds(seed, seeds)
    if eval_workers is None:
        # In-process by default: on 2 busy shared cores, 2 env worker processes were slower than
        # one process (cheetah 0.91x vs 1.11x of a single env; ant 0.78x vs 1.11x), since lockstep
        # stepping needs idle cores to gain. Machines with free cores can pass eval_workers=N.
        eval_workers = 0
    return [RunConfig(algo=algo, env=env, seed=s, preset=preset, device=device, out=Path(out),
                      schedule=schedule, agent_config=agent_cfg, eval_workers=eval_workers) for s in seed_list]


def run_all(
    configs: list[RunConfig],
    resume: bool = False,
    workers: int | None = None,
    progress: RunProgress | None = None,
    threads: int | None = None,
    halves: bool = False,
) -> pd.DataFrame:
    """Run every config; several seeds go to ``workers`` processes. Returns all episodes.

    ``threads`` is torch's intra-op thread count per run. Default: an equal share of the cores
    per worker, and 1 for a single run on CPU — on busy shared cores torch's spinning threads
    made a SMAC update 5x slower with 2 threads than with 1 (3.8 vs 18.3 updates/s measured).
    ``halves`` runs each update's critic and actor halves on two threads (see
    :meth:`~smac_bench.algos.smac.SMACAgent.use_halves`); the default torch threads are then 1.
    ``progress`` receives the dataset build's and every run's events (from this process only).
    """
    report = progress or (lambda event: None)
    cpus = os.cpu_count() or 1
    workers = max(1, min(workers or min(len(configs), cpus), len(configs)))
    if threads is None:
        threads = 1 if halves or workers == 1 else max(1, cpus // workers)
    if halves:  # refuse before a first run spends a minute preparing the dataset
        for cfg in configs:
            check_halves(cfg)
    # Build/download the dataset once, here, before workers would race to build it.
    for env in sorted({c.env for c in configs}):
        prepare_dataset(env, progress=report)
    if workers == 1:
        return pd.concat([run_experiment(cfg, resume=resume, progress=report, torch_threads=threads, halves=halves)
                          for cfg in configs], ignore_index=True)
    ctx = mp.get_context("spawn")  # fork after torch/OpenMP threads start can deadlock
    with ctx.Manager() as manager, ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        events = manager.Queue()
        futures = [pool.submit(_worker, cfg, resume, events, threads, halves) for cfg in configs]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
            _drain(events, report)
            for f in done:
                if f.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise f.exception()
        _drain(events, report)
        return pd.concat([f.result() for f in futures], ignore_index=True)


def _drain(events: queue_mod.Queue, report: RunProgress) -> None:
    while True:
        try:
            report(events.get_nowait())
        except queue_mod.Empty:
            return


def _worker(cfg: RunConfig, resume: bool, events: queue_mod.Queue, threads: int, halves: bool) -> pd.DataFrame:
    """One seed in a worker process; progress goes back through ``events``."""
    return run_experiment(cfg, resume=resume, progress=events.put, torch_threads=threads, halves=halves)
