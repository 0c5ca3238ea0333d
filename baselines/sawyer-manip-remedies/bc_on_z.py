"""Task-conditioned cloning told a run's posterior instead of the task: is ``z`` the wall? (issue #18 probe)

``bc-task`` clones each task's own-aim episodes told the task's features (aim, objects, goal) and reaches
22.3 % held-out; SMAC, with the held-out task's recipe data as context, 5 %. This probe keeps ``bc-task`` and
its training and evaluation exactly, and replaces what it is told by the posterior mean a run's encoder infers
from the task's offline context (training tasks: the dataset's; held-out tasks: the recipe's simulated data,
``heldout_offline_context.heldout_buffer``; mean of ``goal_probe.DRAWS`` contexts). Near 22 % says the
inferred task is as good a descriptor as the true one and SMAC's actor is what fails to generalise; near 5 %
says ``z`` itself does not carry what acting on a new layout needs.

    python baselines/sawyer-manip-remedies/bc_on_z.py RUN_DIR CHECKPOINT SEED OUT
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from goal_probe import posterior_means
from heldout_offline_context import heldout_buffer
from run_with import FAMILY, run_config

import smac_bench.envs.features
from smac_bench.data import load_buffer
from smac_bench.harness.datasets import dataset_id_of
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup, run_experiment


def inferred_features(run_dir: str, checkpoint: str) -> dict[int, np.ndarray]:
    """``{task_id: posterior mean}`` for every training and held-out task."""
    setup = family_setup(FAMILY)
    infer = restore(run_dir, checkpoint=checkpoint).infer_posterior
    table = {}
    for ids, buffer in ((list(setup.train_ids), load_buffer(dataset_id_of(FAMILY))),
                        (list(setup.test_ids), heldout_buffer(list(setup.test_ids)))):
        means = posterior_means(infer, buffer, ids, seed=0).mean(axis=0)
        table.update({k: means[i] for i, k in enumerate(ids)})
    return table


def main(run_dir: str, checkpoint: str, seed: int, out: str) -> None:
    torch.set_num_threads(1)
    table = inferred_features(run_dir, checkpoint)
    smac_bench.envs.features.family_task_features = lambda _family: table  # what family_setup tells bc-task
    run_experiment(run_config("bc-task", seed, out, {}, {"online_env_steps": 0}), resume=True, torch_threads=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
