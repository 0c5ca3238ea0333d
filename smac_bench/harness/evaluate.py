"""Batched execution of protocols v1 and v2 (:mod:`smac_bench.harness.protocol`).

Every ``(task, run)`` pair of an evaluation gets its own env; all of them are stepped together
and the policy is called once per time step on the stacked observations of the envs still
running. That keeps per-step Python and inference overhead amortised over ~100 envs, which is
what makes the harness at least as fast per env step as a single env stepped with random actions
(``benchmarks/eval_speed.py``).

Agents *told the task* (``Agent.told_task``: the behaviour-cloning bound ``bc-task``, issue #18) take each
row's ``z`` from their task (``Agent.task_latents``) instead of a posterior, so their ``K`` exploration
episodes and offline-context draws are skipped; their final episodes and rows are the protocol's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.distributions import Normal, kl_divergence

from smac_bench.algos.base import Agent
from smac_bench.algos.exploration import ExplorationPolicy, exploration_policy, latents_per_step
from smac_bench.algos.table_prior import replay_choice
from smac_bench.data.buffer import MultiTaskBuffer
from smac_bench.harness.envpool import EnvPool, ProcessEnvPool, make_pool
from smac_bench.harness.protocol import Protocol, ProtocolV1, episode_seed, offline_task_ids, trajectory_seed
from smac_bench.utils.threads import single_thread

Pool = EnvPool | ProcessEnvPool

#: Columns returned by :func:`evaluate_tasks` (the run loop adds the run's identity columns).
EVAL_COLUMNS = (
    "task_id", "run", "split", "context_source", "return", "success", "length", "posterior_kl", "episode_seed",
)


@dataclass
class Rollout:
    """Result of stepping ``N`` envs for one trajectory each.

    ``obs/actions/rewards`` are ``[N, H, ...]`` (only the first ``length[i]`` steps of row ``i``
    are valid; present only when recording); ``success`` is NaN where the env never reported it;
    ``latents`` is the ``z`` the episodes acted on (``[N, L]`` or ``[N, H, L]``).
    """

    returns: np.ndarray
    lengths: np.ndarray
    success: np.ndarray
    obs: np.ndarray | None = None
    actions: np.ndarray | None = None
    rewards: np.ndarray | None = None
    latents: torch.Tensor | None = None


def rollout(
    agent: Agent,
    pool: Pool,
    task_ids: Sequence[int],
    reset_seeds: Sequence[int],
    z: torch.Tensor | Callable[[np.ndarray], torch.Tensor],
    horizon: int,
    deterministic: bool,
    record: bool = False,
) -> Rollout:
    """One trajectory in each of the pool's first ``len(task_ids)`` envs, all stepped in lockstep.

    ``z`` is ``[N, L]`` (one latent per trajectory), ``[N, horizon, L]`` (one per step), or a function of
    the reset observations ``[N, obs_dim]`` returning either. The policy is called once per time step,
    batched over the envs still running.
    """
    n = len(task_ids)
    pool.ensure(n)
    obs = pool.reset(range(n), task_ids, reset_seeds)
    if callable(z):
        z = z(obs.copy())
    act_dim = int(np.prod(pool.action_shape))
    returns = np.zeros(n)
    lengths = np.zeros(n, dtype=np.int64)
    success = np.full(n, np.nan)
    active = np.ones(n, dtype=bool)
    rec_obs = np.zeros((n, horizon, obs.shape[1]), np.float32) if record else None
    rec_act = np.zeros((n, horizon, act_dim), np.float32) if record else None
    rec_rew = np.zeros((n, horizon), np.float32) if record else None
    for t in range(horizon):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        all_running = idx.size == n
        with torch.no_grad():
            zt = z[:, t] if z.dim() == 3 else z
            zi = zt if all_running else zt[torch.as_tensor(idx, device=z.device)]
            actions = np.asarray(agent.act(obs if all_running else obs[idx], zi, deterministic=deterministic))
        actions = actions.reshape(idx.size, act_dim)
        if record:
            rec_obs[idx, t] = obs[idx]
            rec_act[idx, t] = actions
        next_obs, rew, done, succ = pool.step(idx, actions)
        obs[idx] = next_obs
        returns[idx] += rew
        lengths[idx] += 1
        if record:
            rec_rew[idx, t] = rew
        # any-step success: NaN (never reported) stays NaN, otherwise the running max
        reported = ~np.isnan(succ)
        success[idx[reported]] = np.fmax(success[idx[reported]], succ[reported])
        active[idx[done]] = False
    return Rollout(returns, lengths, success, rec_obs, rec_act, rec_rew, z)


def _prior_draws(agent: Agent, seeds: Sequence[int], trajectory: int) -> torch.Tensor:
    """``z ~ p(z)`` per row, from the row's own seed so a row's draw ignores the batch it is in."""
    prior = agent.prior(len(seeds))
    eps = np.stack([np.random.default_rng([int(s), 2, trajectory]).standard_normal(agent.latent_dim)
                    for s in seeds])
    eps_t = torch.as_tensor(eps, dtype=prior.mean.dtype, device=prior.mean.device)
    return prior.mean + prior.stddev * eps_t


def _posterior_by_length(agent: Agent, contexts: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Posterior means, standard deviations and ``KL(q || p)`` for contexts of possibly different lengths.

    The agent takes ``[T, C, dim]`` with one ``C``; instead of padding (which the encoder would
    read as data) contexts are grouped by length — with no early terminations that is one group.
    """
    n = len(contexts)
    means = torch.zeros(n, agent.latent_dim, device=agent.device)
    stds = torch.ones(n, agent.latent_dim, device=agent.device)
    kls = torch.zeros(n, device=agent.device)
    lengths = np.array([len(c) for c in contexts])
    with torch.no_grad():
        for length in np.unique(lengths):
            rows = np.flatnonzero(lengths == length)
            ctx = torch.as_tensor(np.stack([contexts[i] for i in rows]), dtype=torch.float32, device=agent.device)
            q = agent.infer_posterior(ctx)
            p = agent.prior(len(rows))
            r = torch.as_tensor(rows, device=agent.device)
            means[r] = q.mean
            stds[r] = q.stddev
            kls[r] = kl_divergence(Normal(q.mean, q.stddev), p).sum(-1)
    return means, stds, kls


def evaluate_tasks(
    agent: Agent,
    pool: Pool,
    task_ids: Sequence[int],
    protocol: Protocol,
    eval_seed: int,
    context_source: str,
    split: str,
    buffer: MultiTaskBuffer | None = None,
    max_envs: int | None = None,
) -> pd.DataFrame:
    """The protocol (v1 or v2) on ``task_ids`` with one context source; one row per ``(task, run)``.

    ``attrs`` of the result: ``env_steps`` taken, and each row's posterior ``posterior_mean`` /
    ``posterior_std`` (lists of ``L`` floats, in row order).

    Args:
        context_source: ``"exploration"`` (``K`` prior-``z`` trajectories) or ``"offline"``
            (``K * H`` transitions drawn from ``buffer``).
        split: ``"test"`` or ``"train"``, written into the rows.
        max_envs: evaluate at most this many ``(task, run)`` pairs at once (memory bound for heavy
            envs); results do not depend on it.
    """
    if context_source not in ("exploration", "offline"):
        raise ValueError(f"unknown context_source {context_source!r}")
    if context_source == "offline" and buffer is None:
        raise ValueError("offline context needs the offline buffer")
    items = [(int(k), r) for k in task_ids for r in range(protocol.num_runs)]
    chunk = max_envs or len(items)
    with single_thread():
        frames = [_evaluate_chunk(agent, pool, items[start:start + chunk], protocol, eval_seed, context_source,
                                  split, buffer) for start in range(0, len(items), chunk)]
    out = pd.concat(frames, ignore_index=True)[list(EVAL_COLUMNS)]
    # env steps taken, exploration included (for speed measurements; not a result column)
    out.attrs["env_steps"] = int(sum(f.attrs["env_steps"] for f in frames))
    # q(z | c) of every row, in row order (the z-shift analysis compares them across context sources)
    for key in ("posterior_mean", "posterior_std"):
        out.attrs[key] = [row for f in frames for row in f.attrs[key]]
    return out


def _evaluate_chunk(
    agent: Agent,
    pool: Pool,
    part: list[tuple[int, int]],
    protocol: Protocol,
    eval_seed: int,
    context_source: str,
    split: str,
    buffer: MultiTaskBuffer | None,
) -> pd.DataFrame:
    """The protocol for a list of ``(task, run)`` pairs stepped together."""
    tasks = [k for k, _ in part]
    seeds = [episode_seed(eval_seed, k, r) for k, r in part]
    v1 = isinstance(protocol, ProtocolV1)
    policy = exploration_policy(agent)
    k = protocol.num_exploration_trajectories
    if getattr(agent, "told_task", False):  # duck-typed agents (tests, user code) need not declare it
        mean, std, kl, z = _told_latents(agent, tasks)
        steps = 0
    else:
        explored: list[Rollout] = []
        if context_source == "exploration":
            if v1:
                contexts = _explore(agent, pool, tasks, seeds, protocol)
            else:
                explored = _explore_v2(agent, pool, tasks, seeds, protocol, policy)
                contexts = _contexts(explored)
            steps = sum(len(c) for c in contexts)
        else:
            contexts = _offline_contexts(buffer, tasks, seeds, protocol.context_size)
            steps = 0
        mean, std, kl = _posterior_by_length(agent, contexts)
        z = mean if v1 else _episode_latents(policy, mean, std, seeds, k, protocol.horizon,
                                             use_mean=policy.final_z == "mean")
        if explored and policy.replay_above is not None:
            z = _replay_rewarded(z, explored, policy.replay_above, protocol.horizon)
    final_seeds = [trajectory_seed(s, k) for s in seeds]
    res = rollout(agent, pool, tasks, final_seeds, z, protocol.horizon, protocol.deterministic)
    df = pd.DataFrame({
        "task_id": tasks,
        "run": [r for _, r in part],
        "split": split,
        "context_source": context_source,
        "return": res.returns,
        "success": res.success,
        "length": res.lengths,
        "posterior_kl": kl.cpu().numpy().astype(np.float64),
        "episode_seed": seeds,
    })
    df.attrs["env_steps"] = steps + int(res.lengths.sum())
    # lists, not arrays: pandas compares attrs when it concatenates frames
    df.attrs["posterior_mean"] = mean.cpu().tolist()
    df.attrs["posterior_std"] = std.cpu().tolist()
    return df


def _told_latents(agent: Agent, tasks: list[int]) -> tuple[torch.Tensor, ...]:
    """A told-task agent's ``z`` per row (its task's, from :meth:`Agent.task_latents`), as ``(mean, std, kl, z)``.

    No exploration, no posterior: the ``K`` exploration episodes are skipped (nothing would read their context)
    and the offline context is not drawn; ``std`` and ``posterior_kl`` are zero. The final episode, its reset
    seed and the rows are the protocol's, so the bound is scored exactly like the agents it bounds.
    """
    z = agent.task_latents(tasks).to(agent.device)
    return z, torch.zeros_like(z), torch.zeros(len(tasks), device=z.device), z


def _explore(
    agent: Agent, pool: Pool, tasks: list[int], seeds: list[int], protocol: Protocol
) -> list[np.ndarray]:
    """v1: ``K`` trajectories with fresh prior ``z`` each; returns each row's ``(s, a, r)`` context."""
    pieces: list[list[np.ndarray]] = [[] for _ in tasks]
    for j in range(protocol.num_exploration_trajectories):
        z = _prior_draws(agent, seeds, j)
        _append_context(pieces, rollout(agent, pool, tasks, [trajectory_seed(s, j) for s in seeds], z,
                                        protocol.horizon, protocol.deterministic, record=True))
    return [np.concatenate(p, axis=0) for p in pieces]


def _explore_v2(agent: Agent, pool: Pool, tasks: list[int], seeds: list[int], protocol: Protocol,
                policy: ExplorationPolicy) -> list[Rollout]:
    """v2: the ``K`` recorded exploration trajectories, with ``z ~ p(z)`` redrawn as the agent's policy says, or
    with the ``"table"`` prior one ``z`` per trajectory from the agent's ``exploration_latents``."""
    prior = agent.prior(len(tasks))
    out = []
    for j in range(protocol.num_exploration_trajectories):
        if policy.prior == "table":
            def z(first_obs: np.ndarray, episode: int = j) -> torch.Tensor:
                return agent.exploration_latents(first_obs, episode)  # type: ignore[attr-defined]
        else:
            z = _episode_latents(policy, prior.mean, prior.stddev, seeds, j, protocol.horizon)
        out.append(rollout(agent, pool, tasks, [trajectory_seed(s, j) for s in seeds], z,
                           protocol.horizon, protocol.deterministic, record=True))
    return out


def _contexts(explored: list[Rollout]) -> list[np.ndarray]:
    """Each row's ``(s, a, r)`` context: its steps of every recorded trajectory, in order."""
    pieces: list[list[np.ndarray]] = [[] for _ in explored[0].returns]
    for res in explored:
        _append_context(pieces, res)
    return [np.concatenate(p, axis=0) for p in pieces]


def _replay_rewarded(z: torch.Tensor, explored: list[Rollout], above: float, horizon: int) -> torch.Tensor:
    """``z [N, H, L]`` of the final episode with each row whose exploration earned reward (a step's reward above
    ``above``) acting again on the latents of its best-returning such episode (:func:`replay_choice`)."""
    max_rewards = np.stack([np.where(np.arange(horizon) < res.lengths[:, None], res.rewards, -np.inf).max(1)
                            for res in explored], 1)
    choice = replay_choice(np.stack([res.returns for res in explored], 1), max_rewards, above)
    out = _per_step(z, horizon).clone()
    for j, res in enumerate(explored):
        rows = torch.as_tensor(np.flatnonzero(choice == j), device=z.device)
        out[rows] = _per_step(res.latents, horizon)[rows].to(out.dtype)
    return out


def _per_step(z: torch.Tensor, horizon: int) -> torch.Tensor:
    """``[N, H, L]``: ``z`` as one latent per step (``[N, L]`` repeated)."""
    return z if z.dim() == 3 else z[:, None].expand(-1, horizon, -1)


def _episode_latents(policy: ExplorationPolicy, mean: torch.Tensor, std: torch.Tensor, seeds: list[int],
                     trajectory: int, horizon: int, use_mean: bool = False) -> torch.Tensor:
    """``z [N, H, L]`` of trajectory ``trajectory`` of each row, from the row's own stream ``(seed, 3, trajectory)``."""
    draws = policy.draws(horizon)
    noise = np.stack([np.random.default_rng([int(s), 3, trajectory]).standard_normal((draws, mean.shape[-1]))
                      for s in seeds])
    return latents_per_step(policy, mean, std, noise, horizon, use_mean)


def _append_context(pieces: list[list[np.ndarray]], res: Rollout) -> None:
    """Add each row's recorded ``(s, a, r)`` steps of one trajectory to its context pieces."""
    for i, length in enumerate(res.lengths):
        pieces[i].append(np.concatenate(
            [res.obs[i, :length], res.actions[i, :length], res.rewards[i, :length, None]], axis=1))


def _offline_contexts(buffer: MultiTaskBuffer, tasks: list[int], seeds: list[int], size: int) -> list[np.ndarray]:
    """``size`` transitions per row from the row's task in the offline data, drawn with the row's seed."""
    out = []
    for k, s in zip(tasks, seeds, strict=True):
        gen = torch.Generator(device=buffer.device).manual_seed(int(s))
        out.append(buffer.sample_context([k], size, generator=gen)[0].cpu().numpy())
    return out


def evaluate_agent(
    agent: Agent,
    pool: Pool,
    test_ids: Sequence[int],
    train_ids: Sequence[int],
    protocol: Protocol,
    eval_seed: int,
    buffer: MultiTaskBuffer | None = None,
    max_envs: int | None = None,
) -> pd.DataFrame:
    """The full protocol evaluation: exploration context on every test task, plus (if the
    protocol asks and a buffer is given) offline context on the fixed training-task subset."""
    frames = [evaluate_tasks(agent, pool, test_ids, protocol, eval_seed, "exploration", "test",
                             max_envs=max_envs)]
    if protocol.offline_context and buffer is not None:
        ids = [k for k in offline_task_ids(train_ids, protocol.num_offline_tasks) if k in set(buffer.task_ids)]
        if ids:
            frames.append(evaluate_tasks(agent, pool, ids, protocol, eval_seed, "offline", "train",
                                         buffer=buffer, max_envs=max_envs))
    df = pd.concat(frames, ignore_index=True)
    df.insert(0, "protocol", protocol.label)
    return df


__all__ = ["EVAL_COLUMNS", "EnvPool", "ProcessEnvPool", "Rollout", "evaluate_agent", "evaluate_tasks", "make_pool",
           "rollout"]
