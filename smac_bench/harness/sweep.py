"""Grids of runs (agents x task families x seeds) on local processes or a Ray cluster.

A cell is one :func:`~smac_bench.harness.run.run_experiment`, exactly as ``smac-bench evaluate``
runs it, into ``OUT/<algo>-<env>-seed<N>/``; the sweep adds no second way to train. What it adds:

* **restart**: a cell whose last checkpoint covers its whole schedule is skipped; one with a
  checkpoint resumes from it; a failing cell is reported with its log's last lines and the
  others go on (logs live in ``OUT/.sweep/<run>.log``, outside the run folders);
* **shared offline phases**: cells whose offline phase is the same computation (SMAC and the
  oracle with one seed, family, schedule and config: the oracle differs only online) train it
  once; the others fork from the donor's ``offline_end`` checkpoint (:mod:`~smac_bench.harness.fork`),
  which gives the same numbers as a separate run;
* **Ray**: ``backend="ray"`` runs each cell as one Ray task with its CPU (and GPU) request, on a
  local instance or an existing cluster (``address``); results land in the same folders, so the
  folder must be shared storage on a multi-machine cluster. Ray is imported only here, on use.

A sweep file (TOML) holds defaults (``out``, ``preset``, ``threads``, ``halves``, ``share_offline``,
``device``) and ``[[grid]]`` tables with ``algos``, ``envs``, ``seeds`` and optionally ``preset``,
``out`` and ``name``; ``baselines/sweep.toml`` is the one that reproduces every reference table.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from smac_bench.errors import UserError
from smac_bench.harness.config import RunConfig, parse_seeds
from smac_bench.utils.progress import ProgressFn

LOG_DIR = ".sweep"
LOG_TAIL_LINES = 15


@dataclass(frozen=True)
class Grid:
    """One block of a sweep: every combination of ``algos`` x ``envs`` x ``seeds`` at ``preset``."""

    algos: tuple[str, ...]
    envs: tuple[str, ...]
    seeds: tuple[int, ...]
    preset: str = "quick"
    name: str = ""
    out: Path | None = None
    """Parent folder of this grid's run folders (default: the sweep's ``out``)."""


@dataclass(frozen=True)
class Sweep:
    """What ``smac-bench sweep`` runs: grids, where to write, and how each cell runs."""

    grids: tuple[Grid, ...]
    out: Path = Path("runs")
    device: str = "cpu"
    threads: int = 1
    """torch threads per cell (the Ray CPU request too; 2 with ``halves``)."""
    halves: bool = False
    share_offline: bool = True


@dataclass
class CellResult:
    run_dir: Path
    status: str  # "done", "skipped" (finished before), "failed"
    forked_from: Path | None = None
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class SweepEvent:
    """Progress of the grid, for the CLI to draw."""

    run_name: str
    status: str  # "queued" (handed to the executor), "done", "skipped", "failed"
    done_cells: int
    total_cells: int
    message: str = ""


@dataclass
class Plan:
    """Cells in run order: ``donors[i]`` is the run a cell forks its offline phase from, or ``None``."""

    configs: list[RunConfig]
    donors: list[int | None] = field(default_factory=list)


# ----------------------------------------------------------------------------- the sweep file
_GRID_KEYS = {"algos", "envs", "seeds", "preset", "name", "out"}
_TOP_KEYS = {"out", "device", "threads", "halves", "share_offline", "preset", "grid"}


def _seeds(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, str):
        return tuple(parse_seeds(None, value))
    if isinstance(value, list) and value and all(type(v) is int and 0 <= v < 2**32 for v in value):
        return tuple(value)
    raise UserError(f"{where}: seeds must be a range like \"0-4\" or a list of seeds like [0, 1, 2]")


def _names(value: Any, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)):
        raise UserError(f"{where}: {key} must be a name or a list of names")
    return tuple(value)


def load_sweep_file(path: str | os.PathLike[str]) -> Sweep:
    """Parse a sweep TOML file (see ``baselines/sweep.toml``); one-line :class:`UserError` on any mistake."""
    import tomllib

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} does not exist: give a sweep file like baselines/sweep.toml") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path} is not a readable TOML file ({exc})") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise UserError(f"{path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_TOP_KEYS))}")
    blocks = data.get("grid")
    if not isinstance(blocks, list) or not blocks:
        raise UserError(f"{path}: needs at least one [[grid]] table with algos, envs and seeds")
    preset = data.get("preset", "quick")
    grids = []
    for i, block in enumerate(blocks):
        where = f"{path} [[grid]] #{i + 1}"
        bad = sorted(set(block) - _GRID_KEYS) if isinstance(block, dict) else ["(not a table)"]
        if bad:
            raise UserError(f"{where}: unknown key(s) {', '.join(bad)}; known: {', '.join(sorted(_GRID_KEYS))}")
        missing = sorted({"algos", "envs", "seeds"} - set(block))
        if missing:
            raise UserError(f"{where}: missing {', '.join(missing)}")
        grids.append(Grid(_names(block["algos"], where, "algos"), _names(block["envs"], where, "envs"),
                          _seeds(block["seeds"], where), str(block.get("preset", preset)), str(block.get("name", "")),
                          Path(block["out"]) if "out" in block else None))
    threads = data.get("threads", 1)
    if type(threads) is not int or threads < 1:
        raise UserError(f"{path}: threads must be a whole number >= 1")
    return Sweep(grids=tuple(grids), out=Path(data.get("out", "runs")), device=str(data.get("device", "cpu")),
                 threads=threads, halves=bool(data.get("halves", False)),
                 share_offline=bool(data.get("share_offline", True)))


# ----------------------------------------------------------------------------- planning
def build_plan(sweep: Sweep) -> Plan:
    """Every cell's :class:`RunConfig` (validated like ``evaluate``'s options), donors first."""
    from smac_bench.harness.launch import build_configs

    configs: list[RunConfig] = []
    seen: set[Path] = set()
    for grid in sweep.grids:
        for env in grid.envs:
            for algo in grid.algos:
                seeds = ",".join(str(s) for s in grid.seeds)
                for cfg in build_configs(algo, env, None, seeds, grid.preset, grid.out or sweep.out, sweep.device):
                    if cfg.run_dir in seen:
                        raise UserError(f"the sweep names {cfg.run_name} twice (at presets that share a run folder); "
                                        "give each grid its own out or drop the repeat")
                    seen.add(cfg.run_dir)
                    configs.append(cfg)
    donors: list[int | None] = [None] * len(configs)
    if sweep.share_offline:
        first: dict[str, int] = {}
        for i, cfg in enumerate(configs):
            key = offline_signature(cfg)
            if key is not None and key in first:
                donors[i] = first[key]
            elif key is not None:
                first[key] = i
    order = sorted(range(len(configs)), key=lambda i: donors[i] is not None)  # donors and loners first
    index = {old: new for new, old in enumerate(order)}
    return Plan([configs[i] for i in order], [None if donors[i] is None else index[donors[i]] for i in order])


def offline_signature(cfg: RunConfig) -> str | None:
    """Equal for two configs exactly when their offline phases are the same computation (``None``: unshared).

    The agent class names whose offline phase it runs (``offline_phase``: the oracle runs SMAC's);
    the seed, family, dataset, offline schedule and the agent config must match too.
    """
    from smac_bench.algos.base import agent_factory

    factory = agent_factory(cfg.algo)
    phase = factory.offline_phase
    if phase is None:
        return None
    sch = cfg.schedule
    agent_cfg = dataclasses.asdict(cfg.agent_config) if dataclasses.is_dataclass(cfg.agent_config) else cfg.agent_config
    return json.dumps([phase, cfg.env, cfg.seed, cfg.device, sch.offline_updates, sch.eval_every_updates,
                       dataclasses.asdict(sch.protocol()), agent_cfg], sort_keys=True, default=str)


def cell_state(cfg: RunConfig) -> str:
    """``"done"`` (its last checkpoint, or its episodes once checkpoints were pruned, cover the schedule),
    ``"partial"`` or ``"new"``."""
    state_file = cfg.run_dir / "checkpoints" / "latest" / "state.json"
    if not state_file.is_file():
        if _episodes_cover_schedule(cfg):  # finished, its full checkpoints pruned to policy/ ones
            return "done"
        return "partial" if cfg.run_dir.exists() and any(cfg.run_dir.iterdir()) else "new"
    try:
        state = json.loads(state_file.read_text())
        done = (int(state["offline_done"]) >= cfg.schedule.offline_updates
                and int(state["online_done"]) >= cfg.schedule.online_env_steps)
    except (ValueError, KeyError, TypeError):
        return "partial"
    return "done" if done else "partial"


def _episodes_cover_schedule(cfg: RunConfig) -> bool:
    from smac_bench.harness.results import EPISODE_COLUMNS, EPISODES_FILE, read_csv

    try:
        steps = read_csv(cfg.run_dir / EPISODES_FILE, EPISODE_COLUMNS)["train_step"]
    except (OSError, ValueError, UserError):
        return False
    return len(steps) > 0 and int(steps.max()) >= cfg.schedule.offline_updates + cfg.schedule.online_env_steps


# ----------------------------------------------------------------------------- one cell
def run_cell(cfg: RunConfig, donor_dir: Path | None, threads: int, halves: bool, log_path: Path) -> CellResult:
    """Run (or resume, or fork and finish) one cell with its output captured in ``log_path``.

    Runs in a worker process or Ray task; never raises: a failure comes back as a result.
    """
    from smac_bench.harness.fork import fork_offline
    from smac_bench.harness.run import run_experiment

    t0 = time.time()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    forked = None
    with open(log_path, "a", encoding="utf-8") as log, _redirect_output(log):
        try:
            state = cell_state(cfg)
            if state == "done":
                return CellResult(cfg.run_dir, "skipped", seconds=time.time() - t0)
            if state == "new" and donor_dir is not None and fork_offline(donor_dir, cfg):
                forked = donor_dir
            print(f"[sweep] {cfg.run_name}: {'fork from ' + str(donor_dir) if forked else state}", flush=True)
            run_experiment(cfg, resume=state == "partial" or forked is not None, torch_threads=threads,
                           halves=halves)
            return CellResult(cfg.run_dir, "done", forked, seconds=time.time() - t0)
        except BaseException as exc:  # noqa: BLE001 - the sweep reports every failure and goes on
            traceback.print_exc(file=sys.stdout)
            if isinstance(exc, KeyboardInterrupt):
                raise
            message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            return CellResult(cfg.run_dir, "failed", forked, message=message, seconds=time.time() - t0)


@contextlib.contextmanager
def _redirect_output(log: TextIO) -> Iterator[None]:
    """Point file descriptors 1 and 2 at ``log`` (so C extensions and subprocesses are captured too)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, old in zip((1, 2), saved, strict=True):
            os.dup2(old, fd)
            os.close(old)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` non-empty lines of a cell's log (for the failure report)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
    return "\n".join(kept[-lines:])


def log_path(cfg: RunConfig) -> Path:
    """Where a cell's output goes: beside its run folder, never inside it."""
    return Path(cfg.out) / LOG_DIR / f"{cfg.run_name}.log"


# ----------------------------------------------------------------------------- executors
def run_sweep(
    sweep: Sweep,
    *,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    progress: Callable[[SweepEvent], None] | None = None,
    dataset_progress: ProgressFn | None = None,
) -> list[CellResult]:
    """Run every cell of ``sweep``; returns one result per cell in plan order.

    ``workers``: cells at once on the local backend (default: CPUs // threads per cell). A fork
    starts once its donor has finished; a donor that failed leaves its forks to train alone.
    """
    from smac_bench.harness.datasets import prepare_dataset

    plan = build_plan(sweep)
    threads = 2 if sweep.halves else sweep.threads
    for env in sorted({c.env for c in plan.configs}):
        prepare_dataset(env, dataset_progress)  # once, before workers would race to build it
    notify = progress or (lambda event: None)
    total = len(plan.configs)
    if backend == "local":
        submit, wait_any, close = _local_backend(workers or max(1, (os.cpu_count() or 1) // threads))
    elif backend == "ray":
        submit, wait_any, close = _ray_backend(address, threads, sweep.device)
    else:
        raise UserError(f"unknown backend {backend!r}: local or ray")
    results: dict[int, CellResult] = {}
    running: dict[Any, int] = {}
    waiting = [i for i in range(total) if plan.donors[i] is not None]

    def start(i: int, donor: Path | None) -> None:
        cfg = plan.configs[i]
        running[submit(cfg, donor, threads, sweep.halves, log_path(cfg))] = i
        # the executor starts it when a worker is free: "queued", not "running"
        notify(SweepEvent(cfg.run_name, "queued", len(results), total))

    try:
        for i in range(total):
            if plan.donors[i] is None:
                start(i, None)
        while running:
            handle, result = wait_any(list(running))
            i = running.pop(handle)
            cfg = plan.configs[i]
            if not isinstance(result, CellResult):  # the process running it died: the reason instead
                result = CellResult(cfg.run_dir, "failed", message=result)
            if result.status == "failed":
                tail = log_tail(log_path(cfg))
                result.message = f"{result.message}\n{tail}" if tail else result.message
            results[i] = result
            notify(SweepEvent(cfg.run_name, result.status, len(results), total, result.message))
            for j in [j for j in waiting if plan.donors[j] == i]:
                waiting.remove(j)
                ok = result.status in ("done", "skipped")
                start(j, plan.configs[i].run_dir if ok else None)
    finally:
        close()
    return [results[i] for i in range(total)]


def _local_backend(workers: int, target: Callable[..., CellResult] = run_cell):
    """``(submit, wait_any, close)`` on a process pool of ``workers``. A worker that dies (killed, out of
    memory) breaks the pool and fails the cells running in it; the next submit starts a fresh pool, so the
    remaining cells still run."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))

    pool = new_pool()

    def submit(*args: Any) -> Any:
        nonlocal pool
        try:
            return pool.submit(target, *args)
        except BrokenProcessPool:
            pool.shutdown(wait=False, cancel_futures=True)
            pool = new_pool()
            return pool.submit(target, *args)

    def wait_any(handles: Sequence[Any]) -> tuple[Any, CellResult | str]:
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        future = next(iter(done))
        try:
            return future, future.result()
        except Exception as exc:  # noqa: BLE001 - a worker process that died (killed, out of memory)
            return future, (f"the worker died ({type(exc).__name__}: {exc}); if it was killed for memory, "
                            "run fewer cells at once (--workers)")

    return submit, wait_any, lambda: pool.shutdown(wait=True, cancel_futures=True)


def _ray_backend(address: str | None, threads: int, device: str):
    try:
        import ray
    except ImportError:
        raise UserError('Ray is not installed: pip install "smac-bench[ray]"') from None
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"OMP_NUM_THREADS": str(threads)}})
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = address or "a local instance"
            raise UserError(f"cannot start or join Ray at {where} ({exc})") from None
    remote = ray.remote(num_cpus=threads, num_gpus=1 if device.startswith("cuda") else 0, max_retries=0)(run_cell)

    def wait_any(handles: Sequence[Any]) -> tuple[Any, CellResult | str]:
        done, _ = ray.wait(list(handles), num_returns=1)
        try:
            return done[0], ray.get(done[0])
        except Exception as exc:  # noqa: BLE001 - a killed worker or node: reported as a failed cell
            return done[0], f"the worker died ({type(exc).__name__}: {str(exc)[:300]})"

    return (lambda *args: remote.remote(*args)), wait_any, (lambda: None)
