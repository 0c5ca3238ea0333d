"""Which of the table prior's components should the exploration episodes try? (issue #18 probe)

SMAC on sawyer-manip explores a new table with its table prior (``exploration_prior="table"``): episode ``j``
acts on the mean of the ``j``-th most probable component for the table's first observation, and every held-out
success of the reference grid comes from acting again on a latent that scored while exploring. This probe
scores a run's agent on the held-out tasks by the protocol (evaluation seed 12345, R = 4, K = 2) with the
components ranked three ways: ``weight`` (the family's rule), ``sharp`` (the narrowest first: a sibling the table
pins down, such as its button, before a hidden point anywhere) and ``apart`` (the most probable first, then
each next the most probable of the components whose means lie farthest from those already tried: the
farther half).

    python baselines/sawyer-manip-remedies/exploration_ranking.py RUN_DIR [CHECKPOINT]
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from smac_bench.harness.config import schedule_preset
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import evaluate_tasks
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup

FAMILY = "sawyer-manip"


def ranked_latents(prior, first_obs: np.ndarray, episode: int, rule: str) -> torch.Tensor:
    """``[N, L]``: the component mean episode ``episode`` tries under ``rule``."""
    with torch.no_grad():
        log_w, mean, log_std = prior(torch.as_tensor(first_obs, dtype=torch.float32))
    rows = torch.arange(len(mean))
    if rule == "sharp":
        return mean[rows, torch.argsort(-log_std.sum(-1), -1, descending=True)[:, episode % prior.components]]
    tried = [log_w.argmax(-1)]
    for _ in range(episode):
        gap = torch.stack([(mean - mean[rows, t][:, None]).norm(dim=-1) for t in tried]).amin(0)  # [N, K]
        far = gap >= gap.median(-1, keepdim=True).values
        tried.append(torch.where(far, log_w, torch.full_like(log_w, -torch.inf)).argmax(-1))
    return mean[rows, tried[episode]]


def main(run_dir: str, checkpoint: str = "online_end") -> None:
    torch.set_num_threads(1)
    setup = family_setup(FAMILY)
    agent = restore(run_dir, checkpoint=checkpoint)
    protocol = schedule_preset("standard", FAMILY).protocol()
    pool = EnvPool(setup.make_env)
    try:
        for rule in ("weight", "sharp", "apart"):
            if rule != "weight":
                agent.exploration_latents = (lambda obs, episode, rule=rule:
                                             ranked_latents(agent.table_prior, obs, int(episode), rule))
            df = evaluate_tasks(agent, pool, list(setup.test_ids), protocol, 12345, "exploration", "test")
            print(f"{run_dir} ({checkpoint}), components ranked by {rule}: held-out success "
                  f"{df['success'].mean():.3f}", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
