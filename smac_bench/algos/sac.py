"""Task-aware SAC: the data-collection agent whose learning history becomes the offline datasets.

The policy sees the observation with the task's parameters appended (``[obs, phi(task)]``), so
it is *not* a meta-RL agent: it is the multi-task "oracle" learner that produced the replay
buffers SMAC meta-trains on. What it is trained for here is its *history*: snapshots of the actor
taken at fixed env-step counts are the behaviour policies of a dataset (poor early, good late).

The task features ``phi`` are injected by the caller (see :mod:`smac_bench.recipes`) so this
module knows nothing about datasets. Snapshots are safetensors of the actor only — the keys of an
``nn.Sequential`` built by :func:`smac_bench.algos.networks.mlp` — with the shapes and action box
in the safetensors metadata, so a rollout can run them with numpy alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import gymnasium
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from smac_bench.algos.networks import mlp

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


@dataclass
class SACConfig:
    """Hyper-parameters of the task-aware SAC used to make behaviour data."""

    hidden: tuple[int, ...] = (256, 256)
    """Widths of the actor and critic hidden layers."""
    total_env_steps: int = 50_000
    """Env steps of training over all tasks together."""
    start_steps: int = 2_000
    """Initial env steps with uniform random actions (no updates before)."""
    num_envs: int = 8
    """Envs stepped in lockstep, each on its own training task (one batched actor call)."""
    updates_per_step: float = 1.0
    """Gradient updates per env step."""
    batch_size: int = 256
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    replay_size: int = 1_000_000
    threads: int = 2
    """torch intra-op threads (the machine is shared; 2 is enough for 256-wide nets)."""


class TanhGaussianActor(nn.Module):
    """``a = low + (tanh(u) + 1) / 2 * (high - low)``, ``u ~ N(mu(x), sigma(x))``."""

    def __init__(self, in_dim: int, act_dim: int, hidden: Sequence[int], low: np.ndarray, high: np.ndarray):
        super().__init__()
        self.net = mlp(in_dim, hidden, 2 * act_dim)
        self.register_buffer("scale", torch.as_tensor((high - low) / 2, dtype=torch.float32))
        self.register_buffer("bias", torch.as_tensor((high + low) / 2, dtype=torch.float32))

    def forward(self, x: torch.Tensor, deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_std = self.net(x).chunk(2, dim=-1)
        log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
        u = mu if deterministic else mu + log_std.exp() * torch.randn_like(mu)
        t = torch.tanh(u)
        # log-prob of the squashed sample (change of variables; numerically stable form).
        logp = (-0.5 * ((u - mu) / log_std.exp()) ** 2 - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
        logp = logp - (2 * (np.log(2) - u - F.softplus(-2 * u))).sum(-1)
        return t * self.scale + self.bias, logp


class TaskAwareSAC:
    """Soft actor-critic on ``[obs, task features]`` with twin critics and automatic entropy."""

    def __init__(self, in_dim: int, act_dim: int, low: np.ndarray, high: np.ndarray, config: SACConfig, seed: int):
        torch.manual_seed(seed)
        self.config, self.in_dim, self.act_dim = config, in_dim, act_dim
        self.actor = TanhGaussianActor(in_dim, act_dim, config.hidden, low, high)
        self.q = nn.ModuleList([mlp(in_dim + act_dim, config.hidden, 1) for _ in range(2)])
        self.q_target = nn.ModuleList([mlp(in_dim + act_dim, config.hidden, 1) for _ in range(2)])
        self.q_target.load_state_dict(self.q.state_dict())
        self.q_target.requires_grad_(False)
        self.log_alpha = torch.zeros((), requires_grad=True)
        self.target_entropy = -float(act_dim)
        self.opt_actor = torch.optim.Adam(self.actor.parameters(), lr=config.lr)
        self.opt_q = torch.optim.Adam(self.q.parameters(), lr=config.lr)
        self.opt_alpha = torch.optim.Adam([self.log_alpha], lr=config.lr)

    def _q(self, nets: nn.ModuleList, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        xa = torch.cat([x, a], -1)
        return torch.min(nets[0](xa), nets[1](xa)).squeeze(-1)

    def update(self, x: torch.Tensor, a: torch.Tensor, r: torch.Tensor, x2: torch.Tensor, done: torch.Tensor) -> None:
        """One gradient step of critics, actor and temperature on a batch."""
        alpha = self.log_alpha.exp().detach()
        with torch.no_grad():
            a2, logp2 = self.actor(x2)
            target = r + self.config.gamma * (1 - done) * (self._q(self.q_target, x2, a2) - alpha * logp2)
        xa = torch.cat([x, a], -1)
        q_loss = sum(F.mse_loss(net(xa).squeeze(-1), target) for net in self.q)
        self.opt_q.zero_grad(set_to_none=True)
        q_loss.backward()
        self.opt_q.step()

        self.q.requires_grad_(False)  # the actor's gradient must not touch the critics
        a_new, logp = self.actor(x)
        actor_loss = (alpha * logp - self._q(self.q, x, a_new)).mean()
        self.opt_actor.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.opt_actor.step()
        self.q.requires_grad_(True)

        alpha_loss = -(self.log_alpha * (logp.detach() + self.target_entropy)).mean()
        self.opt_alpha.zero_grad(set_to_none=True)
        alpha_loss.backward()
        self.opt_alpha.step()
        with torch.no_grad():
            for p, tp in zip(self.q.parameters(), self.q_target.parameters(), strict=True):
                tp.mul_(1 - self.config.tau).add_(p, alpha=self.config.tau)

    @torch.no_grad()
    def act(self, x: np.ndarray, deterministic: bool = False) -> np.ndarray:
        return self.actor(torch.as_tensor(x, dtype=torch.float32), deterministic)[0].numpy()

    def snapshot(self, path: str, metadata: dict[str, object]) -> None:
        """Write the actor as safetensors (atomic) with shapes and action box in its metadata."""
        from safetensors.torch import save

        from smac_bench.utils.io import atomic_write_bytes

        tensors = {k: v.detach().clone().contiguous() for k, v in self.actor.net.state_dict().items()}
        meta = {
            "in_dim": self.in_dim,
            "act_dim": self.act_dim,
            "hidden": list(self.config.hidden),
            "action_low": (self.actor.bias - self.actor.scale).tolist(),
            "action_high": (self.actor.bias + self.actor.scale).tolist(),
            **metadata,
        }
        atomic_write_bytes(path, save(tensors, metadata={"smac_bench": json.dumps(meta, sort_keys=True)}))


class _Replay:
    """A flat numpy ring buffer of ``(x, a, r, x2, done)``."""

    def __init__(self, size: int, in_dim: int, act_dim: int):
        self.x = np.zeros((size, in_dim), np.float32)
        self.a = np.zeros((size, act_dim), np.float32)
        self.r = np.zeros(size, np.float32)
        self.x2 = np.zeros((size, in_dim), np.float32)
        self.d = np.zeros(size, np.float32)
        self.size, self.n, self.i = size, 0, 0

    def add(self, x, a, r, x2, d) -> None:
        k = len(r)
        idx = (self.i + np.arange(k)) % self.size
        self.x[idx], self.a[idx], self.r[idx], self.x2[idx], self.d[idx] = x, a, r, x2, d
        self.i = (self.i + k) % self.size
        self.n = min(self.n + k, self.size)

    def sample(self, rng: np.random.Generator, b: int) -> list[torch.Tensor]:
        j = rng.integers(self.n, size=b)
        return [torch.from_numpy(v[j]) for v in (self.x, self.a, self.r, self.x2, self.d)]


def train_task_aware_sac(
    make_env: Callable[[], gymnasium.Env],
    task_ids: Sequence[int],
    features: Callable[[int], np.ndarray],
    config: SACConfig,
    seed: int,
    snapshot_steps: Sequence[int],
    on_snapshot: Callable[[TaskAwareSAC, int, dict[str, float]], None],
    progress: bool = True,
) -> dict[str, float]:
    """Train on ``task_ids`` (each env episode on a uniformly drawn task) and call ``on_snapshot``.

    ``on_snapshot(agent, env_steps, stats)`` runs when the env-step counter first reaches each of
    ``snapshot_steps`` (``0`` = the untrained actor). Returns wall time and update counts.
    """
    from tqdm.auto import tqdm

    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(seed)
    envs = [make_env() for _ in range(config.num_envs)]
    space = envs[0].action_space
    feat = {int(k): np.asarray(features(int(k)), np.float32) for k in task_ids}
    in_dim = envs[0].observation_space.shape[0] + len(next(iter(feat.values())))
    agent = TaskAwareSAC(in_dim, space.shape[0], space.low, space.high, config, seed)
    replay = _Replay(min(config.replay_size, config.total_env_steps), in_dim, space.shape[0])

    def reset(i: int) -> tuple[np.ndarray, int]:
        k = int(task_ids[rng.integers(len(task_ids))])
        obs, _ = envs[i].reset(seed=int(rng.integers(2**31)), options={"task_id": k})
        return obs, k

    state = [reset(i) for i in range(len(envs))]
    ep_ret, recent = np.zeros(len(envs)), []
    pending = sorted(set(int(s) for s in snapshot_steps))
    steps, updates, debt, t0 = 0, 0, 0.0, time.perf_counter()
    bar = tqdm(total=config.total_env_steps, disable=not progress, desc="task-aware SAC", unit="step")
    while True:
        while pending and steps >= pending[0]:
            stats = {"mean_train_return": float(np.mean(recent[-50:])) if recent else None,
                     "wall_s": time.perf_counter() - t0, "updates": updates}
            on_snapshot(agent, pending.pop(0), stats)  # type: ignore[arg-type]
        if steps >= config.total_env_steps:
            break
        x = np.stack([np.concatenate([o, feat[k]]) for o, k in state]).astype(np.float32)
        if steps < config.start_steps:
            a = rng.uniform(space.low, space.high, size=(len(envs), space.shape[0])).astype(np.float32)
        else:
            a = agent.act(x)
        for i, env in enumerate(envs):
            obs2, r, term, trunc, _ = env.step(a[i])
            k = state[i][1]
            replay.add(x[i : i + 1], a[i : i + 1], [r], np.concatenate([obs2, feat[k]])[None], [float(term)])
            ep_ret[i] += r
            if term or trunc:
                recent.append(ep_ret[i])
                ep_ret[i] = 0.0
                state[i] = reset(i)
            else:
                state[i] = (obs2, k)
        steps += len(envs)
        bar.update(len(envs))
        if steps >= config.start_steps:
            debt += len(envs) * config.updates_per_step
            while debt >= 1:
                agent.update(*replay.sample(rng, config.batch_size))
                updates += 1
                debt -= 1
            if recent:
                bar.set_postfix(ret=f"{np.mean(recent[-20:]):.1f}", refresh=False)
    bar.close()
    for env in envs:
        env.close()
    return {"wall_s": time.perf_counter() - t0, "updates": updates, "env_steps": steps,
            "config": json.dumps(asdict(config))}
