"""How often do SMAC's own exploration episodes succeed on sawyer-manip? (issue #18)

Runs protocol v2's ``K`` exploration episodes (evaluation seed 12345, ``R`` runs per task) for 10 training tasks
and the held-out tasks with a run's agent, and prints the share of exploration contexts that hold at least one
success step (reward above -1). Under the sparse reward a context without one cannot tell siblings apart, so
this share caps what the final episode can reach. ``prior``: the agent's own exploration rule (the table prior
for runs since ``be8c2f5``). ``mixture`` explores with a random training task's
posterior instead of ``N(0, I)`` (as ``explore_or_generalise.py --explore-z mixture``).

    python baselines/sawyer-manip-remedies/exploration_hits.py RUN_DIR [prior|mixture] [CHECKPOINT]
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from explore_or_generalise import use_posterior_mixture

from smac_bench.algos.exploration import exploration_policy
from smac_bench.data import load_buffer
from smac_bench.harness.config import schedule_preset
from smac_bench.harness.datasets import dataset_id_of
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import _contexts, _explore_v2
from smac_bench.harness.protocol import episode_seed
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup


def main(run_dir: str, explore_z: str = "prior", checkpoint: str = "online_end") -> None:
    torch.set_num_threads(1)
    agent = restore(run_dir, checkpoint=checkpoint)
    setup = family_setup("sawyer-manip")
    protocol = schedule_preset("standard", "sawyer-manip").protocol()
    if explore_z == "mixture":
        buffer = load_buffer(dataset_id_of("sawyer-manip"))
        use_posterior_mixture(agent, buffer, list(setup.train_ids), protocol.context_size)
    pool = EnvPool(setup.make_env)
    try:
        for name, ids in (("training tasks 0-9", list(setup.train_ids[:10])), ("held-out tasks", list(setup.test_ids))):
            rows = [(k, r) for k in ids for r in range(protocol.num_runs)]
            seeds = [episode_seed(12345, k, r) for k, r in rows]
            contexts = _contexts(_explore_v2(agent, pool, [k for k, _ in rows], seeds, protocol,
                                             exploration_policy(agent)))
            hits = np.mean([(c[:, -1] > -1).any() for c in contexts])
            print(f"{run_dir} ({checkpoint}, explore z: {explore_z}): {name}: exploration contexts with a success "
                  f"step {hits:.3f} ({len(contexts)})", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
