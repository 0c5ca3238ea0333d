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

from smac_bench.data import load_buffer
from smac_bench.harness.config import schedule_preset
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import _offline_contexts, _posterior_by_length
from smac_bench.harness.protocol import trajectory_seed
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup
from smac_bench.recipes.scripted import layout_siblings

CONTEXT = 400  # transitions of offline context per training task: two episodes' worth, as exploration gives
FIT_STEPS = 3000


class TablePrior(torch.nn.Module):
    """``p(z | s_0)``: mixture weights, means and log standard deviations of ``K`` diagonal Gaussians."""

    def __init__(self, obs_dim: int, latent_dim: int, components: int, hidden: int = 128) -> None:
        super().__init__()
        self.k, self.latent_dim = components, latent_dim
        self.net = torch.nn.Sequential(torch.nn.Linear(obs_dim, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, components * (1 + 2 * latent_dim)))

    def forward(self, s0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.net(s0)
        logits, rest = out[:, :self.k], out[:, self.k:].reshape(-1, self.k, 2, self.latent_dim)
        return torch.log_softmax(logits, -1), rest[:, :, 0], rest[:, :, 1].clamp(-5, 2)

    def nll(self, s0: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        log_w, mean, log_std = self(s0)
        comp = torch.distributions.Normal(mean, log_std.exp()).log_prob(z[:, None]).sum(-1)
        return -torch.logsumexp(log_w + comp, -1).mean()


def fit_table_prior(agent, dataset_id: str, train_ids: list[int], components: int,
                    seed: int) -> tuple[TablePrior, torch.Tensor, torch.Tensor]:
    """The fitted prior and the input normalisation ``(mean, std)`` of ``s_0``."""
    buffer = load_buffer(dataset_id)
    held = set(buffer.task_ids)
    tasks = [k for k in train_ids if k in held]
    z, _, _ = _posterior_by_length(agent, _offline_contexts(buffer, tasks, [seed + k for k in tasks], CONTEXT))
    s0 = buffer.obs[buffer.slots(tasks), 0].float().cpu()  # each task's first reset
    mu, sd = s0.mean(0), s0.std(0).clamp_min(1e-3)
    torch.manual_seed(seed)
    model = TablePrior(s0.shape[1], agent.latent_dim, components)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = (s0 - mu) / sd
    for step in range(FIT_STEPS):
        loss = model.nll(x, z)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 1000 == 0 or step == FIT_STEPS - 1:
            print(f"  table prior fit step {step}: nll {loss.item():.3f} ({len(tasks)} tasks)", flush=True)
    return model, mu, sd


def explore_with_table_prior(agent, pool, tasks, seeds, protocol, prior: TablePrior, mu,
                             sd, rank: str = "weight") -> tuple[float, float, float]:
    """(share of runs whose exploration scored, final success on the posterior mean, final success acting
    again on the latent of the best-returning exploration episode where one scored, else the posterior mean)."""
    s0 = torch.as_tensor(np.asarray(pool.reset(range(len(tasks)), tasks, [trajectory_seed(s, 0) for s in seeds]),
                                    np.float32))
    with torch.no_grad():
        log_w, mean, log_std = prior((s0 - mu) / sd)
    # "weight": the most probable components first; "sharp": the narrowest first (a sibling the table
    # pins down, such as pressing its button, rather than a hidden goal point anywhere)
    key = log_w if rank == "weight" else -log_std.sum(-1)
    order = torch.argsort(key, -1, descending=True)
    pieces: list[list[np.ndarray]] = [[] for _ in tasks]
    latents, returns = [], []
    for j in range(protocol.num_exploration_trajectories):
        z = mean[torch.arange(len(tasks)), order[:, j % prior.k]]
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
        training = set(setup.train_ids)
        train = [k for ids in layout_siblings(FAMILY).values() for k in ids if k in training]
        prior, mu, sd = fit_table_prior(agent, dataset_id, train, int(components), agent.seed)
        scored, final, replayed = explore_with_table_prior(agent, pool, tasks, seeds, protocol, prior, mu, sd,
                                                             rank)
        print(f"{run_dir} ({checkpoint}), exploration z from the table prior ({components} components, {rank} first): "
              f"exploration scored in {scored:.3f} of {len(tasks)} runs, final success {final:.3f} on the "
              f"posterior mean, {replayed:.3f} acting again on the latent that scored", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
