"""Resolve ``smac-bench evaluate`` options into run configs and run them (in parallel for several seeds).

Progress of every run (phase, step, latest score, ETA) is shown with one rich progress bar per
seed; worker processes send :class:`~smac_bench.harness.run.ProgressEvent` s through a queue.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from smac_bench.errors import UserError
from smac_bench.harness.config import RunConfig, parse_seeds, schedule_preset
from smac_bench.harness.run import ProgressEvent, check_halves, run_experiment


def build_configs(
    algo: str, env: str, seed: int | None, seeds: str | None, preset: str, out: Path, device: str,
    eval_workers: int | None = None,
) -> list[RunConfig]:
    """Validate the options (one-line :class:`UserError` s) and build one config per seed."""
    from smac_bench.algos.base import AGENTS, agent_config
    from smac_bench.envs import ENV_IDS

    schedule = schedule_preset(preset)
    if env not in ENV_IDS:
        raise UserError(f"unknown env {env!r}: choose one of {', '.join(ENV_IDS)}")
    try:
        agent_cfg = agent_config(algo, preset)
    except ValueError:
        known = ", ".join(sorted(AGENTS)) or "none registered yet"
        raise UserError(f"unknown algo {algo!r}: choose one of {known}") from None
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise UserError(f"unknown device {device!r}: use cpu or cuda")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda was asked for but torch sees no CUDA device; use --device cpu")
    seed_list = parse_seeds(seed, seeds)
    if eval_workers is None:
        # In-process by default: on 2 busy shared cores, 2 env worker processes were slower than
        # one process (cheetah 0.91x vs 1.11x of a single env; ant 0.78x vs 1.11x), since lockstep
        # stepping needs idle cores to gain. Machines with free cores can pass --eval-workers N.
        eval_workers = 0
    return [RunConfig(algo=algo, env=env, seed=s, preset=preset, device=device, out=Path(out),
                      schedule=schedule, agent_config=agent_cfg, eval_workers=eval_workers) for s in seed_list]


def _progress_bar(console: Console | None) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TextColumn("score {task.fields[score]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _apply(progress: Progress, tasks: dict[int, TaskID], event: ProgressEvent) -> None:
    score = "-" if event.score is None else f"{event.score:.1f}"
    progress.update(tasks[event.seed], completed=event.done, total=event.total,
                    description=f"seed {event.seed} {event.phase:<7}", status=event.status, score=score)


def run_all(
    configs: list[RunConfig],
    resume: bool = False,
    workers: int | None = None,
    console: Console | None = None,
    threads: int | None = None,
    halves: bool = False,
) -> pd.DataFrame:
    """Run every config; several seeds go to ``workers`` processes. Returns all episodes.

    ``threads`` is torch's intra-op thread count per run. Default: an equal share of the cores
    per worker, and 1 for a single run on CPU — on busy shared cores torch's spinning threads
    made a SMAC update 5x slower with 2 threads than with 1 (3.8 vs 18.3 updates/s measured).
    ``halves`` runs each update's critic and actor halves on two threads (see
    :meth:`~smac_bench.algos.smac.SMACAgent.use_halves`); the default torch threads are then 1.
    """
    cpus = os.cpu_count() or 1
    workers = max(1, min(workers or min(len(configs), cpus), len(configs)))
    if threads is None:
        threads = 1 if halves or workers == 1 else max(1, cpus // workers)
    if halves:  # refuse before a first run spends a minute preparing the dataset
        for cfg in configs:
            check_halves(cfg)
    # Build/download the dataset once, here: before the progress display (rich allows one live
    # display at a time, and the builder shows its own) and before workers would race to build it.
    for env in sorted({c.env for c in configs}):
        prepare_dataset(env)
    with _progress_bar(console) as progress:
        tasks = {c.seed: progress.add_task(f"seed {c.seed}", total=c.schedule.total_work, status="starting",
                                           score="-") for c in configs}
        if workers == 1:
            frames = []
            for cfg in configs:
                frames.append(run_experiment(cfg, resume=resume, progress=lambda e: _apply(progress, tasks, e),
                                             torch_threads=threads, halves=halves))
            return pd.concat(frames, ignore_index=True)
        ctx = mp.get_context("spawn")  # fork after torch/OpenMP threads start can deadlock
        with ctx.Manager() as manager, ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            events = manager.Queue()
            futures = [pool.submit(_worker, cfg, resume, events, threads, halves) for cfg in configs]
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                _drain(events, progress, tasks)
                for f in done:
                    if f.exception() is not None:
                        for other in pending:
                            other.cancel()
                        raise f.exception()
            _drain(events, progress, tasks)
            return pd.concat([f.result() for f in futures], ignore_index=True)


def prepare_dataset(env: str) -> None:
    """``ensure_dataset`` for the family's offline dataset (one-line :class:`UserError` if it can't)."""
    try:
        from smac_bench.data import DATASETS, ensure_dataset
    except ImportError:
        raise UserError("the offline datasets are not available in this version of smac-bench") from None
    if env not in DATASETS:
        raise UserError(f"no offline dataset for env {env!r}: datasets exist for {', '.join(DATASETS)}")
    ensure_dataset(DATASETS[env], progress=True)


def _drain(events: queue_mod.Queue, progress: Progress, tasks: dict[int, TaskID]) -> None:
    while True:
        try:
            _apply(progress, tasks, events.get_nowait())
        except queue_mod.Empty:
            return


def _worker(cfg: RunConfig, resume: bool, events: queue_mod.Queue, threads: int, halves: bool) -> pd.DataFrame:
    """One seed in a worker process; progress goes back through ``events``."""
    return run_experiment(cfg, resume=resume, progress=events.put, torch_threads=threads, halves=halves)
