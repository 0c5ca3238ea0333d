"""The told bound made to explore: what protocol v2's two exploration episodes allow on held-out tasks (issue #18)

The targets ask SMAC and the oracle for 80 % of ``bc-task``'s held-out success, but ``bc-task`` is told the
task and explores nothing, while the agents get two exploration episodes under a sparse reward: a held-out
layout hosts several sibling tasks the observation cannot tell apart, and only a success step says which one
is meant. This probe gives ``bc-task``'s own policy (a run's checkpoint) the best simple use of those two
episodes that knows as much as an agent could at most: the layout's sibling set (not which sibling).

Per ``(task, run)`` of the protocol (same episode and reset seeds): pursue two different siblings, drawn
at random, one per exploration episode (told that sibling's features); if an episode scores a success step,
act in the final episode as the sibling it pursued, else as one of the untried siblings at random. The
final episode's success is what an agent executing as well as the bound, and inferring the task as well as
elimination among siblings allows, would score. It bounds the agents' held-out success under this protocol
more tightly than the told bound does.

``EPISODES`` explores that many episodes instead of the protocol's ``K`` = 2 (one sibling each while untried
ones remain; the final episode's reset seed is trajectory ``EPISODES``'s, told and exploring alike).

    python baselines/sawyer-manip-remedies/sibling_explorer.py BC_TASK_RUN_DIR [CHECKPOINT [EPISODES]]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from smac_bench.envs import task_family
from smac_bench.harness.config import schedule_preset
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import rollout
from smac_bench.harness.protocol import episode_seed, trajectory_seed
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup

FAMILY = "sawyer-manip"
HIDDEN_GOAL_AIMS = ("reach", "place_puck")  # their goal point is in no observation: only reward reveals it


def sibling_sets(test_ids: list[int]) -> dict[int, list[int]]:
    """``{task: the held-out tasks sharing its layout, itself included}``."""
    family = task_family(FAMILY)
    by_layout = defaultdict(list)
    for k in test_ids:
        by_layout[family.task(k).params["layout"]].append(k)
    return {k: by_layout[family.task(k).params["layout"]] for k in test_ids}


def main(run_dir: str, checkpoint: str = "offline_end", episodes: str | None = None) -> None:
    torch.set_num_threads(1)
    setup = family_setup(FAMILY)
    test_ids = list(setup.test_ids)
    siblings = sibling_sets(test_ids)
    agent = restore(run_dir, checkpoint=checkpoint)
    protocol = schedule_preset("standard").protocol()
    k_explore = int(episodes) if episodes else protocol.num_exploration_trajectories
    horizon = protocol.horizon
    eval_seed = json.loads((Path(run_dir) / "config.json").read_text())["seed"]  # the harness's eval seed
    rows = [(k, r) for k in test_ids for r in range(protocol.num_runs)]
    tasks = [k for k, _ in rows]
    seeds = [episode_seed(eval_seed, k, r) for k, r in rows]
    orders = [list(np.random.default_rng([s, 7]).permutation(siblings[k])) for k, s in zip(tasks, seeds, strict=True)]
    tried = [order[:k_explore] for order in orders]
    pool = EnvPool(setup.make_env)
    try:
        told = rollout(agent, pool, tasks, [trajectory_seed(s, k_explore) for s in seeds],
                       agent.task_latents(tasks), horizon, protocol.deterministic).success
        hits = np.zeros((len(rows), k_explore), bool)
        for j in range(k_explore):
            pursued = [t[min(j, len(t) - 1)] for t in tried]
            res = rollout(agent, pool, tasks, [trajectory_seed(s, j) for s in seeds], agent.task_latents(pursued),
                          horizon, protocol.deterministic)
            hits[:, j] = res.success > 0
        chosen = []
        for i, (order, s) in enumerate(zip(orders, seeds, strict=True)):
            hit = np.flatnonzero(hits[i, :len(tried[i])])
            untried = order[len(tried[i]):] or order
            guess = untried[np.random.default_rng([s, 8]).integers(len(untried))]
            chosen.append(tried[i][hit[0]] if hit.size else guess)
        final = rollout(agent, pool, tasks, [trajectory_seed(s, k_explore) for s in seeds], agent.task_latents(chosen),
                        horizon, protocol.deterministic).success
    finally:
        pool.close()
    n_sib = np.mean([len(siblings[k]) for k in tasks])
    identified = np.mean([c == k for c, k in zip(chosen, tasks, strict=True)])
    print(f"{run_dir} ({checkpoint}, {k_explore} exploration episodes): {len(rows)} held-out episodes, "
          f"{n_sib:.2f} siblings a layout on average; "
          f"told the task {np.nanmean(told):.3f}; exploring: an exploration success in {hits.any(1).mean():.3f} "
          f"of runs, task identified in {identified:.3f}, final success {np.nanmean(final):.3f}", flush=True)
    hidden = np.array([task_family(FAMILY).task(k).params["aim"] in HIDDEN_GOAL_AIMS for k in tasks])
    for name, rows_of in (("hidden goal point (reach, place-puck)", hidden), ("no hidden goal", ~hidden)):
        print(f"  {name}: {rows_of.sum() // protocol.num_runs} tasks, told {np.nanmean(told[rows_of]):.3f}, "
              f"exploring {np.nanmean(final[rows_of]):.3f}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
