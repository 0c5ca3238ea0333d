"""Where a run's latent place sits, against where each task scores (issue #18 probe).

For a run whose latent has a place (``context_inputs="hand-place"``; :func:`smac_bench.algos.inputs.latent_place`)
this reads the place of each task's posterior mean (``goal_probe.DRAWS`` contexts of ``goal_probe.CONTEXT_SIZE``
transitions: training tasks from the dataset, held-out tasks from the recipe's simulated data) and prints, by
aim, the median distance to the task's hidden goal point (cm) next to guessing the aim's mean goal, or, for
aims without one, how far the places spread (cm, per axis). No readout is fitted: the place is read as it is.

    python baselines/sawyer-manip-remedies/place_readout.py RUN_DIR [CHECKPOINT]
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from goal_probe import posterior_means
from heldout_offline_context import heldout_buffer
from run_with import FAMILY

from smac_bench.algos.inputs import latent_place
from smac_bench.data import load_buffer
from smac_bench.envs import task_family
from smac_bench.harness.datasets import dataset_id_of
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup

AIMS = ("reach", "place_puck", "place_in_tray", "press_button", "open_drawer", "close_drawer")


def main(run_dir: str, checkpoint: str = "offline_end") -> None:
    torch.set_num_threads(1)
    setup, family = family_setup(FAMILY), task_family(FAMILY)
    infer = restore(run_dir, checkpoint=checkpoint).infer_posterior
    for split, ids, buffer in (("training", list(setup.train_ids), load_buffer(dataset_id_of(FAMILY))),
                               ("held-out", list(setup.test_ids), heldout_buffer(list(setup.test_ids)))):
        means = posterior_means(infer, buffer, ids, seed=0).mean(axis=0)
        places = latent_place(torch.as_tensor(means)).numpy()
        for aim in AIMS:
            rows = [i for i, k in enumerate(ids) if family.task(k).params["aim"] == aim]
            goals = [family.task(ids[i]).params.get("goal") for i in rows]
            if goals[0] is None:
                print(f"{split} {aim} ({len(rows)}): places spread {np.round(places[rows].std(0) * 100, 1)} cm")
                continue
            goals = np.asarray(goals)
            error = np.linalg.norm(places[rows] - goals, axis=1) * 100
            guess = np.linalg.norm(goals - goals.mean(0), axis=1) * 100
            print(f"{split} {aim} ({len(rows)}): place to goal {np.median(error):.1f} cm "
                  f"(guessing {np.median(guess):.1f})")


if __name__ == "__main__":
    main(*sys.argv[1:])
