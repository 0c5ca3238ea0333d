"""Does updating the posterior between the two exploration episodes find held-out tasks? (issue #18 probe)

Protocol v2 explores with ``z`` from the prior in both episodes. PEARL's posterior sampling instead draws the
second episode's ``z`` from the posterior given the first episode's context: with the hand-only encoder
(``z`` a place on the table), a first episode that scored nothing could still move ``z`` away from where it
looked. This probe runs both rules on the held-out tasks with a run's agent (one ``z`` per episode, the
protocol's reset seeds, evaluation seed 12345, R = 4, K = 2) and prints the share of runs whose exploration
scored a success step and the final episode's success (``z`` = the posterior mean of both episodes).

``EPISODES`` explores that many episodes instead of the protocol's ``K`` = 2.

    python baselines/sawyer-manip-remedies/posterior_exploration.py RUN_DIR [CHECKPOINT [EPISODES]]
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import torch

from smac_bench.harness.config import schedule_preset
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import Rollout, _append_context, _posterior_by_length, rollout
from smac_bench.harness.protocol import episode_seed, trajectory_seed
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup

FAMILY = "sawyer-manip"
EVAL_SEED = 12345


def held_out_runs(setup, protocol) -> tuple[list[int], list[int]]:
    """Task and episode seed of every held-out ``(task, run)`` row of the protocol, evaluation seed 12345."""
    rows = [(k, r) for k in setup.test_ids for r in range(protocol.num_runs)]
    return [k for k, _ in rows], [episode_seed(EVAL_SEED, k, r) for k, r in rows]


def posterior_mean(agent, pieces: list[list[np.ndarray]]) -> torch.Tensor:
    """``[N, L]``: the posterior mean of each row's context pieces."""
    return _posterior_by_length(agent, [np.concatenate(p) for p in pieces])[0]


def explore_episode(agent, pool, tasks, seeds, protocol, j: int, z: torch.Tensor,
                    pieces: list[list[np.ndarray]]) -> Rollout:
    """Exploration episode ``j`` of every row on ``z [N, L]`` (one per episode), its context added to ``pieces``."""
    res = rollout(agent, pool, tasks, [trajectory_seed(s, j) for s in seeds], z, protocol.horizon,
                  protocol.deterministic, record=True)
    _append_context(pieces, res)
    return res


def final_success(agent, pool, tasks, seeds, protocol, z: torch.Tensor) -> float:
    """Success of the protocol's final episode (after ``K`` exploration episodes) acting on ``z [N, L]``."""
    k = protocol.num_exploration_trajectories
    return float(np.nanmean(rollout(agent, pool, tasks, [trajectory_seed(s, k) for s in seeds], z,
                                    protocol.horizon, protocol.deterministic).success))


def explore_and_act(agent, pool, tasks: list[int], seeds: list[int], protocol, update: bool) -> tuple[float, float]:
    """(share of runs whose exploration scored, final success) with the second episode's ``z`` drawn from
    the posterior of the first episode's context when ``update``, else from the prior."""
    pieces: list[list[np.ndarray]] = [[] for _ in tasks]
    prior = agent.prior(len(tasks))
    mean, std = prior.mean, prior.stddev
    scored = np.zeros(len(tasks), bool)
    for j in range(protocol.num_exploration_trajectories):
        if update and j > 0:
            mean, std, _ = _posterior_by_length(agent, [np.concatenate(p) for p in pieces])
        noise = np.stack([np.random.default_rng([s, 5, j]).standard_normal(agent.latent_dim) for s in seeds])
        z = mean + std * torch.as_tensor(noise, dtype=mean.dtype, device=mean.device)
        scored |= explore_episode(agent, pool, tasks, seeds, protocol, j, z, pieces).success > 0
    return float(scored.mean()), final_success(agent, pool, tasks, seeds, protocol, posterior_mean(agent, pieces))


def main(run_dir: str, checkpoint: str = "online_end", episodes: str | None = None) -> None:
    torch.set_num_threads(1)
    setup = family_setup(FAMILY)
    agent = restore(run_dir, checkpoint=checkpoint)
    protocol = schedule_preset("standard").protocol()
    if episodes:
        protocol = dataclasses.replace(protocol, num_exploration_trajectories=int(episodes))
    tasks, seeds = held_out_runs(setup, protocol)
    pool = EnvPool(setup.make_env)
    try:
        for update in (False, True):
            scored, final = explore_and_act(agent, pool, tasks, seeds, protocol, update)
            rule = "posterior" if update else "prior"
            print(f"{run_dir} ({checkpoint}, K = {protocol.num_exploration_trajectories}), later exploration z "
                  f"from the {rule}: "
                  f"exploration scored in {scored:.3f} of {len(tasks)} runs, final success {final:.3f}", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
