"""Can SMAC's own critic pick exploration latents that find success on a new table? (issue #18 probe)

Protocol v2 explores with ``z`` from the prior, and on held-out tables that scores a success in about 1 % of
runs (``posterior_exploration.py``). SMAC's critic ``Q(s, a, z)`` sees the table: it was trained on every
training table with the latents of that table's own siblings. This probe draws ``CANDIDATES`` latents from the
prior for each held-out run, scores each by the critic at the run's first observation,
``min_j Q_j(s_0, tanh(mu(s_0, z)), z)``, and explores with the best one in the first episode and the best one
at least the candidates' median distance away from it in the second (one ``z`` per episode). The final
episode uses the posterior mean of both episodes' context, as in ``posterior_exploration.py``, which also
gives the baseline printed first: one prior draw per episode. Same tasks, reset seeds, evaluation seed
12345, R = 4, K = 2.

    python baselines/sawyer-manip-remedies/critic_exploration.py RUN_DIR [CHECKPOINT [CANDIDATES]]
"""

from __future__ import annotations

import sys

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

from smac_bench.harness.config import schedule_preset
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.protocol import trajectory_seed
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup


@torch.no_grad()
def critic_scores(agent, obs: np.ndarray, z: torch.Tensor) -> torch.Tensor:
    """``[N, M]``: the critic's value of acting on each of ``M`` latents ``z [N, M, L]`` at ``obs [N, D]``."""
    n, m, _ = z.shape
    s = torch.as_tensor(obs, dtype=torch.float32).repeat_interleave(m, 0)
    flat_z = z.reshape(n * m, -1)
    mean, _ = agent.policy(torch.cat([s, flat_z], -1))
    return agent.critic(torch.cat([s, torch.tanh(mean), flat_z], -1)).amin(0).reshape(n, m)


def pick_latents(z: torch.Tensor, scores: torch.Tensor, k: int) -> torch.Tensor:
    """``[N, k, L]``: per run the best-scored latent, then each next best at least the median pairwise
    distance of the candidates from every latent already picked (the best remaining if none is)."""
    picked = []
    for zi, si in zip(z, scores, strict=True):
        dist = torch.cdist(zi, zi)
        far = dist.median()
        order = torch.argsort(si, descending=True).tolist()
        chosen = [order[0]]
        for _ in range(1, k):
            rest = [j for j in order if j not in chosen]
            spread = [j for j in rest if all(dist[j, c] >= far for c in chosen)]
            chosen.append((spread or rest)[0])
        picked.append(zi[chosen])
    return torch.stack(picked)


def explore_with_critic(agent, pool, tasks: list[int], seeds: list[int], protocol,
                        candidates: int) -> tuple[float, float]:
    """(share of runs whose exploration scored, final success) exploring with critic-picked latents."""
    first_obs = pool.reset(range(len(tasks)), tasks, [trajectory_seed(s, 0) for s in seeds])
    noise = np.stack([np.random.default_rng([s, 7]).standard_normal((candidates, agent.latent_dim)) for s in seeds])
    prior = agent.prior(1)
    z = prior.mean + prior.stddev * torch.as_tensor(noise, dtype=torch.float32)
    latents = pick_latents(z, critic_scores(agent, first_obs, z), protocol.num_exploration_trajectories)
    pieces: list[list[np.ndarray]] = [[] for _ in tasks]
    scored = np.zeros(len(tasks), bool)
    for j in range(protocol.num_exploration_trajectories):
        scored |= explore_episode(agent, pool, tasks, seeds, protocol, j, latents[:, j], pieces).success > 0
    return float(scored.mean()), final_success(agent, pool, tasks, seeds, protocol, posterior_mean(agent, pieces))


def main(run_dir: str, checkpoint: str = "online_end", candidates: str = "256") -> None:
    torch.set_num_threads(1)
    setup = family_setup(FAMILY)
    agent = restore(run_dir, checkpoint=checkpoint)
    protocol = schedule_preset("standard").protocol()
    tasks, seeds = held_out_runs(setup, protocol)
    pool = EnvPool(setup.make_env)
    try:
        for rule in ("prior", "critic"):
            if rule == "prior":
                scored, final = explore_and_act(agent, pool, tasks, seeds, protocol, update=False)
            else:
                scored, final = explore_with_critic(agent, pool, tasks, seeds, protocol, int(candidates))
            print(f"{run_dir} ({checkpoint}), exploration z from the {rule}: exploration scored in {scored:.3f} "
                  f"of {len(tasks)} runs, final success {final:.3f}", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
