"""Task-aware SAC: the data-collection agent whose learning history becomes the offline datasets.

The policy sees the observation with the task's parameters appended (``[obs, phi(task)]``), so
it is *not* a meta-RL agent: it is the multi-task "oracle" learner that produced the replay
buffers SMAC meta-trains on. What it is trained for here is its *history*: snapshots of the actor
taken at fixed env-step counts are the behaviour policies of a dataset (poor early, good late).

The task features ``phi`` are injected by the caller (see :mod:`smac_bench.recipes`) so this
module knows nothing about datasets. Snapshots are safetensors of the actor only — the keys of an
``nn.Sequential`` built by :func:`smac_bench.algos.networks.mlp` — with the shapes and action box
in the safetensors metadata, so a rollout can run them with numpy alone.

Long runs (the ant-dir expert takes hours) pass a ``run_dir``: the loop then evaluates on test
tasks every ``eval_every`` env steps (``curve.csv`` + an actor snapshot each time) and writes a
resumable checkpoint every ``checkpoint_every`` env steps (:mod:`smac_bench.algos.sac_state`).
At every checkpoint *all envs start new episodes* (the running ones are cut, stored as time-outs,
so the critic bootstraps through them): an env's MuJoCo state is not saved, so a resumed run
restarts its episodes, and doing the same in an uninterrupted run makes the two bit-identical.
The SAC itself follows rlkit's ``SACTrainer`` (twin Q, target networks, automatic temperature).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from smac_bench.algos.networks import mlp
from smac_bench.algos.sac_state import Relabel, Replay, latest_checkpoint, load_checkpoint, save_checkpoint
from smac_bench.utils.io import atomic_write_csv

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
__all__ = ["Relabel", "SACConfig", "TaskAwareSAC", "evaluate_actor", "train_task_aware_sac"]


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
    """Gradient updates per env step (below 1: fewer, larger-batch updates are cheaper per sample)."""
    batch_size: int = 256
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    replay_size: int = 1_000_000
    threads: int = 2
    """torch intra-op threads (the machine is shared; 2 is enough for 256-wide nets)."""
    relabel_frac: float = 0.8
    """Share of each batch given a random training task and its recomputed reward (only with a ``Relabel``)."""
    eval_every: int = 25_000
    """Env steps between test evaluations (only with a ``run_dir``)."""
    eval_episodes: int = 2
    """Episodes per test task at each evaluation (mean actions)."""
    checkpoint_every: int = 25_000
    """Env steps between resumable checkpoints (only with a ``run_dir``)."""


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


# --- losses (rlkit SACTrainer.train_from_torch), as pure functions --------------------------------
def soft_q_target(r: torch.Tensor, done: torch.Tensor, gamma: float, q_next: torch.Tensor,
                  logp_next: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``r + gamma (1 - done) (min_i Q'_i(s', a') - alpha log pi(a'|s'))``."""
    return r + gamma * (1 - done) * (q_next - alpha * logp_next)


def critic_loss(q_preds: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """Sum over the twin critics of the mean squared Bellman error."""
    return sum(F.mse_loss(q, target) for q in q_preds)  # type: ignore[return-value]


def actor_loss(alpha: torch.Tensor, logp: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``E[alpha log pi(a|s) - min_i Q_i(s, a)]``, ``a ~ pi``."""
    return (alpha * logp - q).mean()


def temperature_loss(log_alpha: torch.Tensor, logp: torch.Tensor, target_entropy: float) -> torch.Tensor:
    """Drives the policy entropy towards ``target_entropy`` (``-|A|``, rlkit's default)."""
    return -(log_alpha * (logp.detach() + target_entropy)).mean()


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

    def modules(self) -> nn.ModuleDict:
        """Every network (actor, critics, target critics), for checkpoints."""
        return nn.ModuleDict({"actor": self.actor, "q": self.q, "q_target": self.q_target})

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"actor": self.opt_actor, "q": self.opt_q, "alpha": self.opt_alpha}

    def _q(self, nets: nn.ModuleList, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        xa = torch.cat([x, a], -1)
        return torch.min(nets[0](xa), nets[1](xa)).squeeze(-1)

    def update(self, x: torch.Tensor, a: torch.Tensor, r: torch.Tensor, x2: torch.Tensor, done: torch.Tensor) -> None:
        """One gradient step of critics, actor and temperature on a batch."""
        alpha = self.log_alpha.exp().detach()
        with torch.no_grad():
            a2, logp2 = self.actor(x2)
            target = soft_q_target(r, done, self.config.gamma, self._q(self.q_target, x2, a2), logp2, alpha)
        xa = torch.cat([x, a], -1)
        q_loss = critic_loss([net(xa).squeeze(-1) for net in self.q], target)
        self.opt_q.zero_grad(set_to_none=True)
        q_loss.backward()
        self.opt_q.step()

        self.q.requires_grad_(False)  # the actor's gradient must not touch the critics
        a_new, logp = self.actor(x)
        loss = actor_loss(alpha, logp, self._q(self.q, x, a_new))
        self.opt_actor.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_actor.step()
        self.q.requires_grad_(True)

        self.opt_alpha.zero_grad(set_to_none=True)
        temperature_loss(self.log_alpha, logp, self.target_entropy).backward()
        self.opt_alpha.step()
        with torch.no_grad():
            torch._foreach_lerp_(list(self.q_target.parameters()), list(self.q.parameters()), self.config.tau)

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


def evaluate_actor(agent: TaskAwareSAC, envs: Sequence[gymnasium.Env], task_ids: Sequence[int],
                   features: Callable[[int], np.ndarray], episodes: int, seed: int) -> list[float]:
    """Mean return per task of the mean action, ``episodes`` episodes each, all envs in lockstep.

    ``envs`` holds ``len(task_ids) * episodes`` envs; episode ``e`` of the ``j``-th task resets with
    seed ``seed + j * episodes + e``. Draws nothing from the training RNGs.
    """
    jobs = [(k, e) for k in task_ids for e in range(episodes)]
    obs = [env.reset(seed=seed + j, options={"task_id": int(k)})[0]
           for j, (env, (k, _)) in enumerate(zip(envs, jobs, strict=True))]
    feat = [np.asarray(features(int(k)), np.float32) for k, _ in jobs]
    ret, live = np.zeros(len(jobs)), list(range(len(jobs)))
    while live:
        a = agent.act(np.stack([np.concatenate([obs[j], feat[j]]) for j in live]), deterministic=True)
        still = []
        for j, aj in zip(live, a, strict=True):
            obs[j], r, term, trunc, _ = envs[j].step(aj)
            ret[j] += r
            if not (term or trunc):
                still.append(j)
        live = still
    return [float(ret[i * episodes:(i + 1) * episodes].mean()) for i in range(len(task_ids))]


def train_task_aware_sac(
    make_env: Callable[[], gymnasium.Env],
    task_ids: Sequence[int],
    features: Callable[[int], np.ndarray],
    config: SACConfig,
    seed: int,
    snapshot_steps: Sequence[int] = (),
    on_snapshot: Callable[[TaskAwareSAC, int, dict[str, float]], None] | None = None,
    progress: bool = True,
    *,
    relabel: Relabel | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
    eval_task_ids: Sequence[int] = (),
    snapshot_meta: dict[str, Any] | None = None,
    stop_after_checkpoint_at: int | None = None,
) -> dict[str, Any]:
    """Train on ``task_ids`` (each env episode on a uniformly drawn task) and call ``on_snapshot``.

    ``on_snapshot(agent, env_steps, stats)`` runs when the env-step counter first reaches each of
    ``snapshot_steps`` (``0`` = the untrained actor). With ``relabel``, ``config.relabel_frac`` of
    every batch is relabelled with random tasks of ``task_ids``. With ``run_dir``: evaluations on
    ``eval_task_ids`` (``curve.csv``, ``snapshots/step-XXXXXXX.safetensors`` with ``snapshot_meta``),
    checkpoints, and ``resume=True`` continues from the latest one. ``stop_after_checkpoint_at``
    ends the run after the first checkpoint at or past that step (as if killed there; for tests).
    Returns wall time and update counts.
    """
    from tqdm.auto import tqdm

    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(seed)
    envs = [make_env() for _ in range(config.num_envs)]
    space, obs_dim = envs[0].action_space, envs[0].observation_space.shape[0]
    feats = np.stack([np.asarray(features(int(k)), np.float32) for k in task_ids])
    agent = TaskAwareSAC(obs_dim + feats.shape[1], space.shape[0], space.low, space.high, config, seed)
    replay = Replay(min(config.replay_size, config.total_env_steps), obs_dim, space.shape[0],
                    relabel.info_dim if relabel else 0)
    out = Path(run_dir) if run_dir is not None else None
    eval_envs = [make_env() for _ in range(len(eval_task_ids) * config.eval_episodes)] if out else []
    c: dict[str, Any] = {"env_steps": 0, "updates": 0, "debt": 0.0, "wall_s": 0.0, "next_eval": 0,
                         "next_checkpoint": config.checkpoint_every, "curve": [], "recent": []}
    if out is not None and resume:
        folder = latest_checkpoint(out)
        if folder is None:
            raise FileNotFoundError(f"no checkpoint in {out}/checkpoints to resume from")
        c = load_checkpoint(folder, agent, replay, rng)
        print(f"resumed from {folder} at {c['env_steps']} env steps", flush=True)
    done_before = c["env_steps"] if resume else -1  # a resumed run made its snapshots up to here
    pending = sorted(s for s in set(int(s) for s in snapshot_steps) if s > done_before)
    t0 = time.perf_counter() - c["wall_s"]
    task_idx, obs = np.zeros(len(envs), np.int64), np.zeros((len(envs), obs_dim), np.float32)
    ep_ret = np.zeros(len(envs))

    def reset(i: int) -> None:
        task_idx[i] = rng.integers(len(task_ids))
        obs[i] = envs[i].reset(seed=int(rng.integers(2**31)), options={"task_id": int(task_ids[task_idx[i]])})[0]
        ep_ret[i] = 0.0

    for i in range(len(envs)):
        reset(i)
    bar = tqdm(total=config.total_env_steps, initial=c["env_steps"], disable=not progress,
               desc="task-aware SAC", unit="step")
    while True:
        steps = c["env_steps"]
        while pending and steps >= pending[0]:
            stats = {"mean_train_return": float(np.mean(c["recent"][-50:])) if c["recent"] else None,
                     "wall_s": time.perf_counter() - t0, "updates": c["updates"]}
            if on_snapshot is not None:
                on_snapshot(agent, pending.pop(0), stats)  # type: ignore[arg-type]
            else:
                pending.pop(0)
        if out is not None and eval_task_ids and steps >= c["next_eval"]:
            rets = evaluate_actor(agent, eval_envs, eval_task_ids, features, config.eval_episodes, seed + 10_000)
            row = {"env_steps": steps, "updates": c["updates"], "wall_s": round(time.perf_counter() - t0, 1),
                   "mean_return": round(float(np.mean(rets)), 2), "min_return": round(float(np.min(rets)), 2),
                   "train_return": round(float(np.mean(c["recent"][-50:])), 2) if c["recent"] else "",
                   "alpha": round(float(agent.log_alpha.detach().exp()), 5),
                   **{f"return_{k}": round(r, 2) for k, r in zip(eval_task_ids, rets, strict=True)}}
            c["curve"].append(row)
            atomic_write_csv(out / "curve.csv", c["curve"])
            agent.snapshot(str(out / "snapshots" / f"step-{steps:07d}.safetensors"),
                           {**(snapshot_meta or {}), "env_steps": steps, "seed": seed,
                            "test_return": row["mean_return"]})
            print(f"[{row['wall_s']:8.0f}s] env steps {steps:>8d}  updates {c['updates']:>8d}  "
                  f"test mean {row['mean_return']:7.1f}  min {row['min_return']:7.1f}  "
                  f"train {row['train_return']}  alpha {row['alpha']}", flush=True)
            c["next_eval"] = steps + config.eval_every
        if out is not None and steps >= c["next_checkpoint"]:
            c["wall_s"], c["recent"] = time.perf_counter() - t0, c["recent"][-50:]
            c["next_checkpoint"] = steps + config.checkpoint_every
            save_checkpoint(out, agent, replay, c, rng)
            for i in range(len(envs)):  # see the module docstring: identical to what a resume does
                reset(i)
            if stop_after_checkpoint_at is not None and steps >= stop_after_checkpoint_at:
                break
        if steps >= config.total_env_steps:
            break
        x = np.concatenate([obs, feats[task_idx]], 1)
        if steps < config.start_steps:
            a = rng.uniform(space.low, space.high, size=(len(envs), space.shape[0])).astype(np.float32)
        else:
            a = agent.act(x)
        obs2, r = np.zeros_like(obs), np.zeros(len(envs), np.float32)
        term, ended = np.zeros(len(envs), np.float32), []
        info = np.zeros((len(envs), relabel.info_dim if relabel else 0), np.float32)
        for i, env in enumerate(envs):
            obs2[i], r[i], te, tr, inf = env.step(a[i])
            term[i] = float(te)
            if relabel is not None:
                info[i] = relabel.info_of_step(inf, float(r[i]))
            if te or tr:
                ended.append(i)
        replay.add(obs=obs, a=a, r=r, obs2=obs2, d=term, task=task_idx, info=info)
        ep_ret += r
        obs[:] = obs2
        for i in ended:
            c["recent"].append(float(ep_ret[i]))
            reset(i)
        c["recent"] = c["recent"][-100:]
        c["env_steps"] = steps = steps + len(envs)
        bar.update(len(envs))
        if steps >= config.start_steps:
            c["debt"] += len(envs) * config.updates_per_step
            while c["debt"] >= 1:
                agent.update(*replay.sample(rng, config.batch_size, feats, relabel, config.relabel_frac))
                c["updates"] += 1
                c["debt"] -= 1
            if c["recent"]:
                bar.set_postfix(ret=f"{np.mean(c['recent'][-20:]):.1f}", refresh=False)
    bar.close()
    for env in [*envs, *eval_envs]:
        env.close()
    return {"wall_s": time.perf_counter() - t0, "updates": c["updates"], "env_steps": c["env_steps"],
            "config": json.dumps(asdict(config)), "curve": c["curve"]}
