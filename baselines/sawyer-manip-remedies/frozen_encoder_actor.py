"""SMAC's actor trained afresh on a finished encoder: does the moving encoder cost execution? (issue #18 probe)

Told a SMAC run's posterior mean in place of the task, ``bc-task``'s cloner reaches far more held-out success
than SMAC's own actor does with the task's data as context (``bc_on_z.py``). The cloner differs in two ways: it
trains on a finished encoder's ``z``, and it clones the best quarter of each task's episodes by least squares
where SMAC weighs every episode by its return. This probe keeps SMAC's actor-critic update and its settings
and removes the first difference: it restores a run's encoder and decoder at ``CHECKPOINT``, starts the
policy and critics from the run's own initial weights, and trains them for ``UPDATES`` offline updates with the
encoder frozen (the online update without its ``-Q`` term: the same episode-return weights, batch and
learning rates). It then scores held-out tasks with the recipe's data as context
(``heldout_offline_context.heldout_buffer``) and training tasks with offline context (evaluation seed 12345,
R = 4); the run's own actor, same rows: ``final_latent_rule.py``'s first line. ``OVERRIDES`` (JSON) changes
the actor-critic's settings, e.g. ``'{"meta_batch": 16, "batch_size": 32}'`` (the cloner's 16 tasks an update).
Two keys of ``OVERRIDES`` change the update itself: ``"latent": "mean"`` trains on the posterior mean of each
update's context instead of a draw from it (with ``"context_size": 400``: nearly the fixed latent per task the
cloner is told), ``"fixed_std": 0.1`` fits the actor's mean by the likelihood of a Gaussian of that fixed
deviation (the cloner's least squares) instead of the policy's own ``exp(log_std)``.

    python baselines/sawyer-manip-remedies/frozen_encoder_actor.py RUN_DIR [CHECKPOINT [UPDATES [OVERRIDES]]]
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time

import torch
from heldout_offline_context import FAMILY, heldout_buffer

from smac_bench.algos import losses
from smac_bench.algos.base import make_agent
from smac_bench.data import load_buffer
from smac_bench.harness.config import schedule_preset
from smac_bench.harness.datasets import dataset_id_of
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import evaluate_tasks
from smac_bench.harness.protocol import offline_task_ids
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup


def main(run_dir: str, checkpoint: str = "offline_end", updates: str = "16000", overrides: str = "{}") -> None:
    torch.set_num_threads(1)
    setup = family_setup(FAMILY)
    trained = restore(run_dir, checkpoint=checkpoint)
    changes = json.loads(overrides)
    latent, fixed_std = changes.pop("latent", "sample"), changes.pop("fixed_std", None)
    config = dataclasses.replace(trained.config, online_reparam_weight=0.0, **changes)
    agent = make_agent(trained.name, trained.obs_dim, trained.act_dim, config, seed=trained.seed)
    agent.encoder.load_state_dict(trained.encoder.state_dict())
    agent.decoder.load_state_dict(trained.decoder.state_dict())
    if latent == "mean":  # training only: zero posterior variance, so the update's draw of z is the mean
        def mean_only(context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            mu, var = type(agent.encoder).posterior_params(agent.encoder, context)
            return mu, torch.zeros_like(var)

        agent.encoder.posterior_params = mean_only
    if fixed_std is not None:
        own_likelihood = losses.action_gaussian_log_prob
        losses.action_gaussian_log_prob = lambda actions, mean, log_std: own_likelihood(
            actions, mean, torch.full_like(log_std, math.log(fixed_std)))
    buffer = load_buffer(dataset_id_of(FAMILY))
    buffer.keep_episode_returns()
    start = time.time()
    for done in range(0, int(updates), 4000):
        stats = agent.train_updates({"offline": buffer}, min(4000, int(updates) - done), config.batch_size,
                                    is_online=True)  # encoder and decoder frozen
        print(f"  {min(done + 4000, int(updates))} updates ({time.time() - start:.0f} s): "
              f"actor loss {stats['actor_loss']:.3f}, ESS {stats['awac_ess']:.1f}", flush=True)
    vars(agent.encoder).pop("posterior_params", None)  # evaluation infers the posterior as ever
    protocol = schedule_preset("standard", FAMILY).protocol()
    pool = EnvPool(setup.make_env)
    try:
        held = evaluate_tasks(agent, pool, list(setup.test_ids), protocol, 12345, "offline", "test",
                              heldout_buffer(list(setup.test_ids)))
        train_ids = offline_task_ids(setup.train_ids, protocol.num_offline_tasks)
        train = evaluate_tasks(agent, pool, train_ids, protocol, 12345, "offline", "train", buffer)
    finally:
        pool.close()
    print(f"{run_dir} ({checkpoint} encoder), actor retrained {updates} updates on it {overrides}: "
          f"held-out with recipe context {held['success'].mean():.3f}, "
          f"training tasks {train['success'].mean():.3f}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
