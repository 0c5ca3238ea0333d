"""Which latent should the scored episode act on: a fresh posterior draw every step, one per episode, or the
posterior mean? (issue #18 probe)

rlkit redraws ``z ~ q(z | c)`` every env step of the final episode (``exploration_resample_latent_period=1``,
the rule protocol v2 evaluates SMAC with); a policy trained on one ``z`` per task may act worse on a latent
that jitters from step to step. This probe scores a run's agent on the held-out tasks with the recipe's data
as context (``heldout_offline_context.heldout_buffer``: the task is in the context, so only acting on it is
measured) and on the training tasks' offline context, under the three rules, same rows and seeds
(evaluation seed 12345, R = 4). ``CONTEXT`` draws that many context transitions instead of the protocol's
``K * H`` = 400 (training draws 64 for each update's ``z``).

    python baselines/sawyer-manip-remedies/final_latent_rule.py RUN_DIR [CHECKPOINT [CONTEXT]]
"""

from __future__ import annotations

import dataclasses
import sys

import torch
from heldout_offline_context import FAMILY, heldout_buffer

from smac_bench.algos.exploration import ExplorationPolicy
from smac_bench.data import load_buffer
from smac_bench.harness.config import schedule_preset
from smac_bench.harness.datasets import dataset_id_of
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import evaluate_tasks
from smac_bench.harness.protocol import offline_task_ids
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup

RULES = {"every step (rlkit)": ExplorationPolicy(1, "sample"), "once per episode": ExplorationPolicy(0, "sample"),
         "posterior mean": ExplorationPolicy(1, "mean")}


def main(run_dir: str, checkpoint: str = "online_end", context: str | None = None) -> None:
    torch.set_num_threads(1)
    setup = family_setup(FAMILY)
    agent = restore(run_dir, checkpoint=checkpoint)
    protocol = schedule_preset("standard", FAMILY).protocol()
    if context:
        protocol = type("Protocol", (type(protocol),), {"context_size": int(context)})(**dataclasses.asdict(protocol))
    heldout = heldout_buffer(list(setup.test_ids))
    train = load_buffer(dataset_id_of(FAMILY))
    train_ids = offline_task_ids(setup.train_ids, protocol.num_offline_tasks)
    pool = EnvPool(setup.make_env)
    agent_class = type(agent)
    try:
        for name, rule in RULES.items():
            agent.__class__ = type(agent_class.__name__, (agent_class,), {"exploration": rule})  # the rule alone
            held = evaluate_tasks(agent, pool, list(setup.test_ids), protocol, 12345, "offline", "test", heldout)
            trained = evaluate_tasks(agent, pool, train_ids, protocol, 12345, "offline", "train", train)
            print(f"{run_dir} ({checkpoint}, {protocol.context_size} context transitions), final z {name}: "
                  f"held-out with recipe context {held['success'].mean():.3f}, "
                  f"training tasks {trained['success'].mean():.3f}", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
