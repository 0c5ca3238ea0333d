"""A learned prior over the tasks a table hosts, to explore a new table with (issue #18 probe)

SMAC explores with ``z`` from ``N(0, I)``, which on a held-out table scores a success in about 1 % of runs
(``posterior_exploration.py``). Siblings share their table, so the first observation ``s_0`` (object poses,
drawer) says which tasks a table *could* host, though not which one is meant. This probe fits ``p(z | s_0)``,
a mixture of ``COMPONENTS`` diagonal Gaussians from a small MLP, to the training tasks' posterior means (each
from 400 of the task's offline transitions) paired with their table's ``s_0`` (the first observation of the
task's offline data): no task labels, only the encoder, the data and the tables. Exploring a held-out table,
episode ``j`` acts on the mean of the ``j``-th most probable component for that table's ``s_0`` (one ``z``
per episode). The final episode acts either on the posterior mean of both episodes' context or, where an
exploration episode earned reward, again on that episode's latent; both are printed. Printed first, the
baseline: one prior draw per episode, final on the posterior mean (``posterior_exploration.explore_and_act``).
Same tasks, reset seeds, evaluation seed 12345, R = 4, K = 2.

The fit is now the library's (:mod:`smac_bench.algos.table_prior`, SMAC's exploration rule on sawyer-manip since
be8c2f5); the README's numbers were measured with this probe's earlier copy, which drew each task's 400
context transitions from its own seed, so a rerun gives close but not identical numbers.

    python baselines/sawyer-manip-remedies/table_prior.py RUN_DIR [CHECKPOINT [COMPONENTS [weight|sharp]]]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from posterior_exploration import (
    FAMILY,
    explore_and_act,
    explore_episode,
    final_success,
    held_out_runs,
    posterior_mean,
)

from smac_bench.algos.table_prior import TablePrior
from smac_bench.data import load_buffer
from smac_bench.harness.config import schedule_preset
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.protocol import trajectory_seed
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup


def fit_prior(agent, dataset_id: str, components: int, seed: int) -> TablePrior:
    """The library's fit (:meth:`LatentActorCritic.fit_table_prior`, 3,000 steps) on the run's offline data,
    for an agent that was trained without a table prior."""
    agent.table_prior = TablePrior(agent.obs_dim, agent.latent_dim, components)
    nll = agent.fit_table_prior(load_buffer(dataset_id))
    print(f"  table prior fit: nll {nll:.3f}", flush=True)
    return agent.table_prior


def explore_with_table_prior(agent, pool, tasks, seeds, protocol, prior: TablePrior,
                             rank: str = "weight") -> tuple[float, float, float]:
    """(share of runs whose exploration scored, final success on the posterior mean, final success acting
    again on the latent of the best-returning exploration episode where one scored, else the posterior mean)."""
    s0 = torch.as_tensor(np.asarray(pool.reset(range(len(tasks)), tasks, [trajectory_seed(s, 0) for s in seeds]),
                                    np.float32))
    with torch.no_grad():
        log_w, mean, log_std = prior(s0)
    # "weight": the most probable components first; "sharp": the narrowest first (a sibling the table
    # pins down, such as pressing its button, rather than a hidden goal point anywhere)
    key = log_w if rank == "weight" else -log_std.sum(-1)
    order = torch.argsort(key, -1, descending=True)
    pieces: list[list[np.ndarray]] = [[] for _ in tasks]
    latents, returns = [], []
    for j in range(protocol.num_exploration_trajectories):
        z = mean[torch.arange(len(tasks)), order[:, j % prior.components]]
        latents.append(z)
        returns.append(explore_episode(agent, pool, tasks, seeds, protocol, j, z, pieces).returns)
    returns = np.stack(returns, 1)
    scored = returns.max(1) > -protocol.horizon  # a success step (reward success - 1)
    posterior_z = posterior_mean(agent, pieces)
    best = torch.stack(latents, 1)[torch.arange(len(tasks)), torch.as_tensor(returns.argmax(1))]
    replay_z = torch.where(torch.as_tensor(scored)[:, None], best, posterior_z)
    finals = [final_success(agent, pool, tasks, seeds, protocol, z) for z in (posterior_z, replay_z)]
    return float(scored.mean()), *finals


def main(run_dir: str, checkpoint: str = "online_end", components: str = "6", rank: str = "weight") -> None:
    torch.set_num_threads(1)
    setup = family_setup(FAMILY)
    agent = restore(run_dir, checkpoint=checkpoint)
    dataset_id = json.loads((Path(run_dir) / "config.json").read_text())["dataset_id"]
    protocol = schedule_preset("standard").protocol()
    tasks, seeds = held_out_runs(setup, protocol)
    pool = EnvPool(setup.make_env)
    try:
        scored, final = explore_and_act(agent, pool, tasks, seeds, protocol, update=False)
        print(f"{run_dir} ({checkpoint}), exploration z from N(0, I): exploration scored in {scored:.3f} "
              f"of {len(tasks)} runs, final success {final:.3f}", flush=True)
        prior = fit_prior(agent, dataset_id, int(components), agent.seed)
        scored, final, replayed = explore_with_table_prior(agent, pool, tasks, seeds, protocol, prior, rank)
        print(f"{run_dir} ({checkpoint}), exploration z from the table prior ({components} components, {rank} first): "
              f"exploration scored in {scored:.3f} of {len(tasks)} runs, final success {final:.3f} on the "
              f"posterior mean, {replayed:.3f} acting again on the latent that scored", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
