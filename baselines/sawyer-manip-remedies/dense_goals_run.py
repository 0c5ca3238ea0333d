"""SMAC's offline phase with hindsight reach tasks added to the training data (issue #18 probe)

Can hindsight reach goals make the agent's ``z`` a goal coordinate (``goal_relabel_probe.py`` asks it of
the encoder alone)? This probe trains the whole agent that way: every training task's transitions are copied
``PER_TASK`` times as extra reach tasks whose goal is a hand position those transitions visit, rewarded as the
env rewards reach
(the extra tasks get ids from ``FIRST_EXTRA_ID``; they are never evaluated). The run is a standard
sawyer-manip run (``run_with.run_config``, the family's settings) on that buffer, offline phase only; score
its held-out tasks afterwards with ``heldout_offline_context.py`` and ``goal_probe.py``.

    python baselines/sawyer-manip-remedies/dense_goals_run.py SEED OUT [PER_TASK]
"""

from __future__ import annotations

import dataclasses
import sys

import torch
from goal_relabel_probe import reach_rewards
from more_layouts_run import joined, relabelled
from run_with import FAMILY, run_config

from smac_bench.data import load_buffer
from smac_bench.data.buffer import MultiTaskBuffer
from smac_bench.harness.datasets import dataset_id_of
from smac_bench.harness.run import run_experiment

DATASET = dataset_id_of(FAMILY)
FIRST_EXTRA_ID = 10_000


def with_hindsight_reach_tasks(buffer: MultiTaskBuffer, per_task: int, seed: int) -> MultiTaskBuffer:
    """``buffer`` plus ``per_task`` relabelled reach copies of each task's transitions."""
    g = torch.Generator().manual_seed(seed)
    tasks = len(buffer.task_ids)
    copies = []
    for copy in range(per_task):
        visited = torch.randint(int(buffer.sizes.min()), (tasks,), generator=g)
        goals = buffer.next_obs[torch.arange(tasks), visited, 0:3]
        ids = [FIRST_EXTRA_ID + copy * tasks + i for i in range(tasks)]
        copies.append(relabelled(buffer, ids, reach_rewards(buffer.next_obs, goals)))
    return joined(buffer, *copies)


def main(seed: int, out: str, per_task: int = 2) -> None:
    torch.set_num_threads(1)
    buffer = with_hindsight_reach_tasks(load_buffer(DATASET), per_task, seed)
    cfg = dataclasses.replace(run_config("smac", seed, out, {}, {"online_env_steps": 0}), dataset_id=DATASET)
    print(f"{len(buffer.task_ids)} tasks ({per_task} hindsight reach copies of each training task)", flush=True)
    run_experiment(cfg, buffer=buffer, resume=True, torch_threads=1)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], *(int(a) for a in sys.argv[3:4]))
