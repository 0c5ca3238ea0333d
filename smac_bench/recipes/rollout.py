"""Batched rollouts across tasks: one env per task, one policy call per step for all of them.

Used both to record datasets (a transition budget per task, behaviour policy chosen by how far
into that budget the task is: poor snapshots first, good ones last) and to evaluate policies on
test tasks. All randomness comes from ``(seed, task_id, episode)``-derived generators, so the
arrays of a task do not depend on which other tasks share the batch or on the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from smac_bench.envs import make_env
from smac_bench.utils.progress import Counter, ProgressFn
from smac_bench.utils.threads import single_thread

# A policy maps inputs [N, in_dim], standard-normal noise [N, act_dim] (or None for its mean
# action) and the task ids [N] of the rows to actions [N, act_dim]. Task-aware learned policies
# read the task from features appended to the inputs; scripted controllers use the ids.
Policy = Callable[[np.ndarray, "np.ndarray | None", np.ndarray], np.ndarray]
RANDOM = -1  # policy index meaning "uniform random actions"


@dataclass
class Episode:
    """One recorded episode: ``observations`` has one more row than ``actions``."""

    task_id: int
    seed: int
    policy: int
    observations: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    terminations: list[bool] = field(default_factory=list)
    truncations: list[bool] = field(default_factory=list)

    @property
    def length(self) -> int:
        return len(self.rewards)

    @property
    def ret(self) -> float:
        return float(np.sum(self.rewards))


def episode_seed(seed: int, task_id: int, episode: int) -> int:
    """The env reset seed of episode ``episode`` of ``task_id`` under recipe ``seed``."""
    return int(np.random.SeedSequence([seed, task_id, episode, 0]).generate_state(1)[0] & 0x7FFFFFFF)


def rollout(
    family: str,
    task_ids: Sequence[int],
    policies: Sequence[Policy],
    features: Callable[[int], np.ndarray] | None,
    seed: int,
    transitions_per_task: int | None = None,
    episodes_per_task: int | None = None,
    deterministic: bool = False,
    schedule: Callable[[int, int], int] | None = None,
    max_episode_steps: int | None = None,
    progress: ProgressFn | None = None,
    desc: str = "rollout",
    max_envs: int | None = None,
) -> list[Episode]:
    """Run every task in ``task_ids`` in lockstep and return its episodes (task order, then time).

    Args:
        policies: behaviour policies; ``schedule(transitions_done, episodes_done)`` picks the
            index of the one used for a task's next episode (:data:`RANDOM` for random actions).
            Without a schedule, policy 0 (or random if there are none) is used throughout.
        features: task features appended to observations (``None``: policies see obs only).
        transitions_per_task: stop a task after this many transitions; the episode it cuts
            short is marked truncated. ``episodes_per_task``: stop after this many episodes.
        deterministic: use each policy's mean action (evaluation) instead of sampling.
        max_episode_steps: shorter episodes than the env's limit (tiny test datasets).
        max_envs: run the tasks in groups of at most this many envs (bounds memory for heavy
            envs such as Sawyer scenes). Part of a recipe: the grouping sets the policy batches.
        progress / desc: progress events (steps, or tasks when grouped) under the key ``desc``.
    """
    if max_envs and len(task_ids) > max_envs:
        out_eps: list[Episode] = []
        bar = Counter(progress, desc, len(task_ids), "task")
        for lo in range(0, len(task_ids), max_envs):
            group = task_ids[lo : lo + max_envs]
            out_eps += rollout(family, group, policies, features, seed, transitions_per_task, episodes_per_task,
                               deterministic, schedule, max_episode_steps)
            bar.update(len(group))
        return out_eps

    if (transitions_per_task is None) == (episodes_per_task is None):
        raise ValueError("give exactly one of transitions_per_task and episodes_per_task")
    schedule = schedule or (lambda _t, _e: 0 if policies else RANDOM)
    n = len(task_ids)
    envs = [make_env(family) for _ in range(n)]
    space = envs[0].action_space
    limit = max_episode_steps or envs[0].spec.max_episode_steps
    rngs = [np.random.default_rng([seed, int(k), 1]) for k in task_ids]
    feats = [features(int(k)) if features else np.zeros(0, np.float32) for k in task_ids]
    done_steps, done_eps = np.zeros(n, int), np.zeros(n, int)
    out: list[list[Episode]] = [[] for _ in range(n)]
    cur: list[Episode | None] = [None] * n
    obs: list[np.ndarray | None] = [None] * n

    def start(i: int) -> None:
        k = int(task_ids[i])
        ep = Episode(k, episode_seed(seed, k, int(done_eps[i])), schedule(int(done_steps[i]), int(done_eps[i])))
        o, info = envs[i].reset(seed=ep.seed, options={"task_id": k})
        assert info["task_id"] == k
        ep.observations.append(o)
        cur[i], obs[i] = ep, o

    def finished(i: int) -> bool:
        if transitions_per_task is not None:
            return done_steps[i] >= transitions_per_task
        return done_eps[i] >= episodes_per_task

    for i in range(n):
        start(i)
    total = n * (transitions_per_task or (episodes_per_task or 0) * limit)
    bar = Counter(progress, desc, total, "step")
    active = list(range(n))
    with single_thread():  # small batched MLPs: one thread is fastest, esp. on a busy machine
        while active:
            actions = np.zeros((len(active), space.shape[0]), np.float32)
            by_policy: dict[int, list[int]] = {}
            for j, i in enumerate(active):
                by_policy.setdefault(cur[i].policy, []).append(j)
            for p, rows in by_policy.items():
                idx = [active[j] for j in rows]
                if p == RANDOM:
                    actions[rows] = np.stack([rngs[i].uniform(space.low, space.high) for i in idx])
                    continue
                x = np.stack([np.concatenate([obs[i], feats[i]]) for i in idx]).astype(np.float32)
                noise = None if deterministic else np.stack([rngs[i].standard_normal(space.shape[0]) for i in idx])
                actions[rows] = policies[p](x, noise, np.array([task_ids[i] for i in idx]))
            still = []
            for j, i in enumerate(active):
                o, r, term, trunc, info = envs[i].step(actions[j])
                ep = cur[i]
                done_steps[i] += 1
                trunc = bool(trunc or ep.length + 1 >= limit or (
                    transitions_per_task is not None and done_steps[i] >= transitions_per_task))
                ep.actions.append(actions[j])
                ep.rewards.append(float(r))
                ep.terminations.append(bool(term))
                ep.truncations.append(trunc and not term)
                ep.observations.append(o)
                obs[i] = o
                if term or trunc:
                    out[i].append(ep)
                    done_eps[i] += 1
                    if finished(i):
                        continue
                    start(i)
                still.append(i)
            bar.update(len(active))
            active = still
    for env in envs:
        env.close()
    return [ep for eps in out for ep in eps]


def mean_return(episodes: Sequence[Episode]) -> tuple[float, float]:
    """Mean and standard deviation of episode returns."""
    rets = np.array([ep.ret for ep in episodes])
    return float(rets.mean()), float(rets.std())
