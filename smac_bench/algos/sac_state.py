"""The task-aware SAC's replay buffer and its checkpoint files (see :mod:`smac_bench.algos.sac`).

Kept apart from the learner so that each file stays short. The replay stores the *plain*
observation and the index of the task, not the task features, so a transition can be relabelled
with another task: its reward is recomputed from a few stored floats (``info``) by a function the
caller supplies (:class:`Relabel`), as in hindsight relabelling of goal-conditioned RL.

A checkpoint is a folder ``checkpoints/step-XXXXXXXXX/`` with ``state.safetensors`` (networks,
optimiser moments, torch RNG), ``state.json`` (counters, numpy RNG, eval curve, optimiser
hyper-parameters) and ``replay.npz`` (only the filled part); ``checkpoints/latest.json`` names the
newest complete one and is written last, atomically, so a crash mid-checkpoint leaves the previous
one in force. No pickle anywhere (``np.load(allow_pickle=False)``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from smac_bench.utils.io import atomic_write_json, atomic_write_with


@dataclass(frozen=True)
class Relabel:
    """How to recompute a stored transition's reward for other task features.

    ``info_of_step(info, reward)`` turns an env step's ``info`` dict into ``info_dim`` floats that
    are stored with the transition; ``reward(info [B, info_dim], features [B, F])`` returns the
    rewards ``[B]`` those transitions would have earned on tasks with those features. It must agree
    with the env's reward when the features are the transition's own task's.
    """

    info_dim: int
    info_of_step: Callable[[dict[str, Any], float], np.ndarray]
    reward: Callable[[np.ndarray, np.ndarray], np.ndarray]


class Replay:
    """A flat numpy ring buffer of ``(obs, a, r, obs2, done, task index, info)``."""

    FIELDS = ("obs", "a", "r", "obs2", "d", "task", "info")

    def __init__(self, size: int, obs_dim: int, act_dim: int, info_dim: int = 0):
        self.obs = np.zeros((size, obs_dim), np.float32)
        self.a = np.zeros((size, act_dim), np.float32)
        self.r = np.zeros(size, np.float32)
        self.obs2 = np.zeros((size, obs_dim), np.float32)
        self.d = np.zeros(size, np.float32)
        self.task = np.zeros(size, np.int32)
        self.info = np.zeros((size, info_dim), np.float32)
        self.size, self.n, self.i = size, 0, 0

    def add(self, **batch: np.ndarray) -> None:
        k = len(batch["r"])
        idx = (self.i + np.arange(k)) % self.size
        for name in self.FIELDS:
            getattr(self, name)[idx] = batch[name]
        self.i = (self.i + k) % self.size
        self.n = min(self.n + k, self.size)

    def sample(self, rng: np.random.Generator, b: int, feats: np.ndarray, relabel: Relabel | None,
               frac: float) -> list[torch.Tensor]:
        """A batch ``[x, a, r, x2, done]`` with ``x = [obs, features]``; a ``frac`` share relabelled.

        Relabelled transitions get a uniformly drawn task of ``feats`` (the training tasks) and the
        reward ``relabel.reward`` gives for it; the done flag (a fall) does not depend on the task.
        """
        j = rng.integers(self.n, size=b)
        task, r = self.task[j], self.r[j]
        if relabel is not None and frac > 0:
            m = rng.random(b) < frac
            new = rng.integers(len(feats), size=b)
            task = np.where(m, new, task)
            r = np.where(m, relabel.reward(self.info[j], feats[task]).astype(np.float32), r)
        f = feats[task]
        x = np.concatenate([self.obs[j], f], 1)
        x2 = np.concatenate([self.obs2[j], f], 1)
        return [torch.from_numpy(v) for v in (x, self.a[j], r.astype(np.float32), x2, self.d[j])]

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name)[: self.n] for name in self.FIELDS}

    def load_arrays(self, arrays: dict[str, np.ndarray], i: int) -> None:
        self.n = len(arrays["r"])
        for name in self.FIELDS:
            getattr(self, name)[: self.n] = arrays[name]
        self.i = i


def _optim_tensors(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimiser's state dict into tensors (for safetensors) and the JSON-able rest."""
    sd = opt.state_dict()
    tensors, rest = {}, {"param_groups": sd["param_groups"], "state": {}}
    for pid, st in sd["state"].items():
        rest["state"][str(pid)] = {}
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{prefix}.{pid}.{k}"] = v.detach().clone().contiguous()
            else:
                rest["state"][str(pid)][k] = v
    return tensors, rest


def _load_optim(opt: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor], rest: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for pid, st in rest["state"].items():
        state[int(pid)] = dict(st)
    for key, v in tensors.items():
        if key.startswith(prefix + "."):
            _, pid, k = key.split(".", 2)
            state.setdefault(int(pid), {})[k] = v
    opt.load_state_dict({"state": state, "param_groups": rest["param_groups"]})


def save_checkpoint(run_dir: Path, agent: Any, replay: Replay, counters: dict[str, Any],
                    rng: np.random.Generator) -> Path:
    """Write a complete checkpoint of ``agent`` (a :class:`~smac_bench.algos.sac.TaskAwareSAC`), then publish it."""
    from safetensors.torch import save_file

    root = run_dir / "checkpoints"
    folder = root / f"step-{counters['env_steps']:09d}"
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"net.{k}": v.detach().clone().contiguous() for k, v in agent.modules().state_dict().items()}
    tensors["log_alpha"] = agent.log_alpha.detach().clone().reshape(1)
    tensors["torch_rng"] = torch.get_rng_state()
    optim = {}
    for name, opt in agent.optimizers().items():
        t, rest = _optim_tensors(f"opt_{name}", opt)
        tensors.update(t)
        optim[name] = rest
    atomic_write_with(folder / "state.safetensors", lambda tmp: save_file(tensors, str(tmp)))

    def write_npz(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **replay.arrays())

    atomic_write_with(folder / "replay.npz", write_npz)
    state = {"counters": counters, "numpy_rng": rng.bit_generator.state, "optim": optim,
             "replay": {"i": replay.i, "n": replay.n, "size": replay.size}}
    atomic_write_json(folder / "state.json", state)
    atomic_write_json(root / "latest.json", {"dir": folder.name, "env_steps": counters["env_steps"]})
    for old in root.glob("step-*"):
        if old.is_dir() and old.name != folder.name:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint folder of ``run_dir``, or ``None``."""
    latest = run_dir / "checkpoints" / "latest.json"
    if not latest.is_file():
        return None
    return run_dir / "checkpoints" / json.loads(latest.read_text())["dir"]


def load_checkpoint(folder: Path, agent: Any, replay: Replay, rng: np.random.Generator) -> dict[str, Any]:
    """Restore ``agent``, ``replay``, ``rng`` and the torch RNG in place; return the counters."""
    from safetensors.torch import load_file

    tensors = load_file(str(folder / "state.safetensors"))
    state = json.loads((folder / "state.json").read_text())
    agent.modules().load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    with torch.no_grad():
        agent.log_alpha.copy_(tensors["log_alpha"][0])
    for name, opt in agent.optimizers().items():
        _load_optim(opt, f"opt_{name}", tensors, state["optim"][name])
    torch.set_rng_state(tensors["torch_rng"])
    rng.bit_generator.state = state["numpy_rng"]
    with np.load(folder / "replay.npz", allow_pickle=False) as z:
        replay.load_arrays({k: z[k] for k in Replay.FIELDS}, state["replay"]["i"])
    return state["counters"]
