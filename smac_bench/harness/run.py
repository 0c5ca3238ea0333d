"""One run: train an agent (offline phase, then online phase) with periodic protocol-v1 evaluation.

Order of work in each chunk — train, append metrics, evaluate, append episodes, checkpoint —
makes ``checkpoints/latest/state.json`` the commit point: on ``--resume`` rows written after the
last checkpoint are dropped and training restarts from it, so a resumed run writes the same files
as an uninterrupted one (for agents whose ``load`` restores their state exactly).
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pandas as pd
import torch

from smac_bench.algos.base import Agent, OnlineSetting, registered_agent
from smac_bench.data.buffer import MultiTaskBuffer
from smac_bench.errors import UserError
from smac_bench.harness.config import RunConfig, agent_config_json
from smac_bench.harness.datasets import load_offline_buffer
from smac_bench.harness.datasets import local_build_of as _local_build
from smac_bench.harness.datasets import reference_scores as _reference_scores
from smac_bench.harness.envpool import make_pool
from smac_bench.harness.evaluate import evaluate_agent
from smac_bench.harness.restore import AGENT_DIR, POLICY_DIR, AgentSpec, env_dims, recorded_agent_config, restore
from smac_bench.harness.results import (
    CONFIG_FILE,
    EPISODE_COLUMNS,
    EPISODES_FILE,
    METRIC_COLUMNS,
    METRICS_FILE,
    read_config,
    read_csv,
    write_csv,
)
from smac_bench.utils.io import atomic_write_json

STATE_FILE = "state.json"
_VERSIONED = ("smac-bench", "torch", "numpy", "gymnasium", "mujoco", "minari", "pandas", "metaworld")


@dataclass(frozen=True)
class TaskSetup:
    """What the harness needs of a task family: envs and the train/test split (tests pass a toy one).

    Not Gymnasium's ``EnvSpec`` (a registration record), nor :class:`~smac_bench.envs.FamilySpec`
    (the registry entry this is built from).
    """

    name: str
    make_env: Callable[[], gymnasium.Env]
    train_ids: tuple[int, ...]
    test_ids: tuple[int, ...]
    task_features: Callable[[], Mapping[int, np.ndarray]] | None = None
    """Every task's features, train and test: what an agent told the task (``Agent.told_task``) is given at
    setup. ``None``: the setup has none, and such agents refuse it."""


def family_setup(name: str) -> TaskSetup:
    """The :class:`TaskSetup` of a registered smac-bench family."""
    from smac_bench import make_env, task_family
    from smac_bench.envs import family_spec as registered_family
    from smac_bench.envs.features import family_task_features

    registered_family(name)  # the one check of the name
    fam = task_family(name)
    return TaskSetup(name, partial(make_env, name), tuple(fam.train_ids), tuple(fam.test_ids),
                     partial(family_task_features, name))


def told_features(algo: str, spec: TaskSetup) -> Mapping[int, np.ndarray] | None:
    """Every task's features if ``algo`` is told the task (a bound, issue #18), else ``None``.

    :class:`UserError` when it is but ``spec`` has none, before a run writes anything.
    """
    if not getattr(registered_agent(algo).factory, "told_task", False):
        return None
    if spec.task_features is None:
        raise UserError(f"{algo} is told the task, but {spec.name} gives no task features")
    return spec.task_features()


@dataclass(frozen=True)
class ProgressEvent:
    """Sent to the progress callback after every chunk of work (picklable, for worker processes)."""

    seed: int
    phase: str
    done: int
    total: int
    score: float | None = None
    status: str = ""


def environment_info() -> dict[str, Any]:
    """Package versions, Python, platform and git commit, for ``config.json``."""
    versions = {}
    for pkg in _VERSIONED:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"packages": versions, "python": sys.version.split()[0], "platform": platform.platform(),
            "git": _git_info()}


def _git_info() -> dict[str, Any]:
    from smac_bench.paths import REPO_ROOT as root

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}



def _seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    """Global RNG states as JSON, so agents that draw from them resume identically."""
    import random

    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state().tolist(),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "python": json.loads(json.dumps(random.getstate())),
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    import random

    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    n = state["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), *n[2:]))
    p = state["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))


def _save_checkpoint(agent: Agent, ckpt_root: Path, state: dict[str, Any], keep_as: str | None) -> None:
    """Write ``latest`` atomically (build in a temp folder, then swap), optionally copy it to ``keep_as``.

    A kept point (``offline_end``, ``online_end``) also gets ``policy/``: only what evaluation needs
    (:meth:`Agent.save_policy`), so the full ``agent/`` folder beside it can be pruned.
    """
    ckpt_root.mkdir(parents=True, exist_ok=True)
    tmp = ckpt_root / ".latest.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    agent.save(tmp / AGENT_DIR)
    atomic_write_json(tmp / STATE_FILE, state)
    _swap_in(tmp, ckpt_root / "latest")
    if keep_as:
        tmp_keep = ckpt_root / f".{keep_as}.tmp"
        shutil.rmtree(tmp_keep, ignore_errors=True)
        shutil.copytree(ckpt_root / "latest", tmp_keep)
        agent.save_policy(tmp_keep / POLICY_DIR)
        _swap_in(tmp_keep, ckpt_root / keep_as)


def _swap_in(new: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


class _Run:
    """State of one run while it trains; see :func:`run_experiment`."""

    def __init__(self, cfg: RunConfig, spec: TaskSetup, buffer: MultiTaskBuffer, agent: Agent,
                 progress: Callable[[ProgressEvent], None] | None) -> None:
        self.cfg, self.spec, self.buffer, self.agent = cfg, spec, buffer, agent
        self.progress = progress or (lambda event: None)
        self.dir = cfg.run_dir
        self.protocol = cfg.schedule.protocol()
        self.pool = make_pool(spec.make_env, cfg.eval_workers)
        self.episodes = read_csv(self.dir / EPISODES_FILE, EPISODE_COLUMNS)
        self.metrics = read_csv(self.dir / METRICS_FILE, METRIC_COLUMNS)
        self.offline_done = self.online_done = 0
        self.wall_s = 0.0
        self.last_score: float | None = None

    # -------------------------------------------------------------- resume
    def resume(self) -> bool:
        """Continue from ``checkpoints/latest`` if there is one (its agent is already restored); drop rows after it."""
        latest = self.dir / "checkpoints" / "latest"
        if not (latest / STATE_FILE).is_file():
            self.episodes = self.episodes.iloc[0:0]
            self.metrics = self.metrics.iloc[0:0]
            return False
        state = json.loads((latest / STATE_FILE).read_text())
        _set_rng_state(state["rng"])
        self.offline_done, self.online_done = int(state["offline_done"]), int(state["online_done"])
        self.wall_s = float(state.get("wall_s", 0.0))
        step = self.train_step
        self.episodes = self.episodes[self.episodes["train_step"] <= step].reset_index(drop=True)
        self.metrics = self.metrics[self.metrics["train_step"] <= step].reset_index(drop=True)
        if len(self.episodes):
            self.last_score = self._score(self.episodes[self.episodes["train_step"] == step])
        return True

    @property
    def train_step(self) -> int:
        return self.offline_done + self.online_done

    # -------------------------------------------------------------- one chunk
    def _record(self, phase: str, phase_step: int, metrics: dict[str, float], evaluate: bool,
                keep_as: str | None, t0: float) -> None:
        ident = {"algo": self.cfg.algo, "env": self.cfg.env, "seed": self.cfg.seed, "phase": phase,
                 "train_step": self.train_step, "phase_step": phase_step}
        if metrics:
            rows = pd.DataFrame([{**ident, "metric": k, "value": float(v), "wall_s": self.wall_s + time.time() - t0}
                                 for k, v in sorted(metrics.items())])
            self.metrics = pd.concat([self.metrics, rows], ignore_index=True)
            write_csv(self.dir / METRICS_FILE, self.metrics, METRIC_COLUMNS)
        if evaluate:
            self.progress(ProgressEvent(self.cfg.seed, phase, self.train_step, self.cfg.schedule.total_work,
                                        self.last_score, "evaluating"))
            if self.agent.trains_online or phase == "offline":
                df = evaluate_agent(self.agent, self.pool, self.spec.test_ids, self.spec.train_ids, self.protocol,
                                    eval_seed=self.cfg.seed, buffer=self.buffer,
                                    max_envs=self.cfg.schedule.max_eval_envs)
            else:  # unchanged since the offline end: repeat its rows (a flat curve) instead of re-running them
                last = self.episodes[self.episodes["train_step"] == self.offline_done]
                df = last.drop(columns=list(ident)).reset_index(drop=True)
            for col, value in reversed(list(ident.items())):
                df.insert(1, col, value)
            self.episodes = pd.concat([self.episodes, df], ignore_index=True)
            write_csv(self.dir / EPISODES_FILE, self.episodes, EPISODE_COLUMNS)
            self.last_score = self._score(df)
        self.wall_s += time.time() - t0
        state = {"offline_done": self.offline_done, "online_done": self.online_done, "wall_s": self.wall_s,
                 "rng": _rng_state()}
        _save_checkpoint(self.agent, self.dir / "checkpoints", state, keep_as)
        self.progress(ProgressEvent(self.cfg.seed, phase, self.train_step, self.cfg.schedule.total_work,
                                    self.last_score, "training"))

    @staticmethod
    def _score(df: pd.DataFrame) -> float | None:
        head = df[(df["split"] == "test") & (df["context_source"] == "exploration")]
        return float(head["return"].mean()) if len(head) else None

    # -------------------------------------------------------------- phases
    def train(self) -> None:
        sch = self.cfg.schedule
        while self.offline_done < sch.offline_updates:
            t0 = time.time()
            n = min(sch.eval_every_updates - self.offline_done % sch.eval_every_updates,
                    sch.offline_updates - self.offline_done)
            metrics = self.agent.train_offline(self.buffer, n)
            self.offline_done += n
            end = self.offline_done == sch.offline_updates
            self._record("offline", self.offline_done, metrics, True, "offline_end" if end else None, t0)
        setting = OnlineSetting(make_env=self.spec.make_env, task_ids=list(self.spec.train_ids), offline=self.buffer)
        while self.online_done < sch.online_env_steps:
            t0 = time.time()
            n = min(sch.eval_every_env_steps - self.online_done % sch.eval_every_env_steps,
                    sch.online_env_steps - self.online_done)
            metrics = self.agent.train_online(setting, n) if self.agent.trains_online else {}
            # Agents run whole iterations, so count what they report having collected.
            self.online_done += max(n, int(metrics.get("env_steps", n)))
            end = self.online_done >= sch.online_env_steps
            self._record("online", self.online_done, metrics, True, "online_end" if end else None, t0)


def check_halves(cfg: RunConfig) -> None:
    """:class:`UserError` unless ``cfg`` is a CPU run of an agent that ``supports_halves`` (SMAC, the oracle)."""
    if not registered_agent(cfg.algo).supports_halves or torch.device(cfg.device).type != "cpu":
        raise UserError(f"two-thread update halves need a CPU run of an agent that supports them (smac, oracle), "
                        f"not {cfg.algo} on {cfg.device}")


def _with_defaults(recorded: Mapping[str, Any]) -> Any:
    """A recorded run config's ``agent_config`` as JSON, with fields it predates at their defaults."""
    try:
        restored = recorded_agent_config(recorded)
    except (UserError, KeyError, TypeError):  # unknown fields, or no agent: compare it as written
        return recorded.get("agent_config")
    return agent_config_json(restored)


def run_experiment(
    cfg: RunConfig,
    *,
    resume: bool = False,
    buffer: MultiTaskBuffer | None = None,
    env_spec: TaskSetup | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    torch_threads: int | None = None,
    halves: bool = False,
) -> pd.DataFrame:
    """Train ``cfg.algo`` on ``cfg.env`` with periodic evaluation; returns the run's episodes table.

    ``buffer`` and ``env_spec`` default to the family's offline dataset (built if missing) and
    the registered env; tests pass their own. Writes everything into ``cfg.run_dir``.
    ``halves`` (CPU, agents that ``supports_halves``) splits each update over two threads; same numbers.
    """
    if torch_threads:
        torch.set_num_threads(torch_threads)
    run_dir = cfg.run_dir
    has_results = (run_dir / EPISODES_FILE).exists() or (run_dir / "checkpoints").exists()
    if has_results and not resume:
        raise UserError(f"{run_dir} already holds results: pass --resume to continue it or choose another --out")
    spec = env_spec or family_setup(cfg.env)
    ref, local = None, None
    if buffer is None:
        buffer, cfg.dataset_id, ref = load_offline_buffer(cfg.env, cfg.device)
        local = _local_build(cfg.dataset_id)  # a handed-in buffer is not the installed build
    else:
        ref = _reference_scores(cfg.dataset_id)
    _seed_everything(cfg.seed)
    obs_dim, act_dim = env_dims(spec.make_env)
    registered_agent(cfg.algo)  # an unknown algo fails before anything is written
    features = told_features(cfg.algo, spec)
    if halves:
        check_halves(cfg)
    config = {**cfg.to_dict(), "reference_scores": ref, "environment": environment_info(),
              "obs_dim": obs_dim, "act_dim": act_dim, "torch_threads": torch.get_num_threads(),
              "halves": halves, **({"dataset_build": local} if local else {})}
    old = read_config(run_dir)
    if resume and old:
        # a field added to the agent's config since the run started reads as its default
        old = {**old, "agent_config": _with_defaults(old)}
        for key in ("algo", "env", "seed", "preset", "schedule", "protocol", "agent_config"):
            if old.get(key) != config[key]:
                raise UserError(f"--resume: {run_dir} was run with a different {key}; "
                                "resume with the original options or choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / CONFIG_FILE, config)
    if resume and (run_dir / "checkpoints" / "latest" / STATE_FILE).is_file():
        agent = restore(run_dir, checkpoint="latest", device=cfg.device)
    else:
        agent = AgentSpec(cfg.algo, obs_dim, act_dim, cfg.seed, cfg.agent_config).build(cfg.device)
    if features is not None:  # once at setup, resumed runs too (their checkpoint holds the same features)
        agent.tell_tasks(features)
    if halves:
        agent.use_halves()
    run = _Run(cfg, spec, buffer, agent, progress)
    if resume:
        run.resume()
    else:
        run.episodes, run.metrics = run.episodes.iloc[0:0], run.metrics.iloc[0:0]
    run.progress(ProgressEvent(cfg.seed, "offline" if run.offline_done < cfg.schedule.offline_updates else "online",
                               run.train_step, cfg.schedule.total_work, run.last_score, "training"))
    try:
        run.train()
    finally:
        run.pool.close()
    run.progress(ProgressEvent(cfg.seed, "done", cfg.schedule.total_work, cfg.schedule.total_work,
                               run.last_score, "done"))
    return run.episodes
