"""Would more goals make ``z`` a coordinate? Encoder + decoder alone, with hindsight reach goals (issue #18)

``goal_probe.py`` finds that the posterior names the 46 training reach goals but cannot express a goal it
has not seen. This probe asks whether that is the data's doing: it trains SMAC's context encoder and
Bernoulli reward decoder alone (the family's sizes and KL weight; no actor or critic) on the training reach
tasks' transitions, either with their own goals only or with hindsight goals added (hand positions the data
visits, as in hindsight experience replay), the reward recomputed from the next observation's hand position
exactly as the env does (checked against the stored rewards). Then ``goal_probe.report_readouts`` reads the
goal back from the posterior as for a run: fitted on the 46 real tasks, scored on left-out and on the 14
held-out reach tasks (the recipe's simulated data as context).

    python baselines/sawyer-manip-remedies/goal_relabel_probe.py [UPDATES [META_BATCH]]
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from goal_probe import DRAWS, hidden_goal_tasks, posterior_means, report_readouts
from heldout_offline_context import FAMILY, heldout_buffer

from smac_bench.algos import losses
from smac_bench.algos.base import agent_config
from smac_bench.algos.encoder import ContextEncoder, RewardDecoder
from smac_bench.data import load_buffer
from smac_bench.data.buffer import context_dim
from smac_bench.envs.sawyer.env import GOAL_TOLERANCE
from smac_bench.harness.datasets import dataset_id_of
from smac_bench.harness.run import family_setup

SMAC = agent_config("smac", "standard", FAMILY)  # the family's sizes, KL weight and context learning rate
HINDSIGHT_SHARE = 0.75  # of the tasks in a meta-batch


def reach_rewards(next_obs: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
    """The env's reach reward ``success - 1`` for hand positions ``next_obs[..., 0:3]`` and goals ``[T, 3]``."""
    near = (next_obs[..., 0:3] - goals[:, None]).norm(dim=-1, keepdim=True) <= GOAL_TOLERANCE
    return near.float() - 1.0


def train_encoder(buffer, tasks: list[int], goals: torch.Tensor, hindsight: bool, updates: int, meta_batch: int,
                  seed: int):
    torch.manual_seed(seed)
    slots = buffer.slots(tasks)
    obs, act, nxt = buffer.obs[slots], buffer.actions[slots], buffer.next_obs[slots]
    encoder = ContextEncoder(context_dim(buffer.obs_dim, buffer.act_dim), SMAC.encoder_hidden, SMAC.latent_dim)
    decoder = RewardDecoder(buffer.obs_dim, buffer.act_dim, SMAC.latent_dim, SMAC.decoder_hidden)
    opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=SMAC.context_lr)
    context, batch = SMAC.context_size, SMAC.batch_size
    n = obs.shape[1]
    for step in range(updates):
        task = torch.randint(len(tasks), (meta_batch,))
        goal = goals[task].clone()
        if hindsight:
            relabel = torch.rand(meta_batch) < HINDSIGHT_SHARE
            visited = nxt[task, torch.randint(n, (meta_batch,)), 0:3]
            goal[relabel] = visited[relabel]
        rows = torch.randint(n, (meta_batch, context + batch))
        o, a, x = (field[task[:, None], rows] for field in (obs, act, nxt))
        r = reach_rewards(x, goal)
        posterior = encoder(torch.cat([o, a, r], -1)[:, :context])
        z = posterior.rsample()[:, None].expand(-1, batch, -1)
        predicted = decoder(o[:, context:], a[:, context:], z)
        reward_loss = losses.bernoulli_reward_loss(predicted, r[:, context:], *SMAC.binary_rewards)
        loss = reward_loss + SMAC.kl_weight * losses.latent_kl_loss(posterior.mean, posterior.variance)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % 2000 == 0:
            print(f"    {step + 1} updates: decoder BCE {reward_loss.item():.3f}", flush=True)
    return encoder


def main(updates: int = 8000, meta_batch: int = 16) -> None:
    torch.set_num_threads(1)
    train, test, goal = hidden_goal_tasks(("reach",))
    train_buffer = load_buffer(dataset_id_of(FAMILY))
    test_buffer = heldout_buffer(list(family_setup(FAMILY).test_ids))
    train_goals = torch.as_tensor(np.stack([goal[k] for k in train]), dtype=torch.float32)
    slots = train_buffer.slots(train)
    match = (reach_rewards(train_buffer.next_obs[slots], train_goals) == train_buffer.rewards[slots]).float().mean()
    print(f"{FAMILY}: {len(train)} training and {len(test)} held-out reach tasks; recomputed rewards match the "
          f"stored ones on {100 * match:.2f} % of transitions; {updates} updates of {meta_batch} tasks, "
          f"{DRAWS} context draws a task")
    for hindsight in (False, True):
        print(f"  {'own goals + hindsight goals' if hindsight else 'own goals only'}:", flush=True)
        encoder = train_encoder(train_buffer, train, train_goals, hindsight, updates, meta_batch, seed=0)
        report_readouts(posterior_means(encoder, train_buffer, train, seed=0),
                        posterior_means(encoder, train_buffer, train, seed=1),
                        posterior_means(encoder, test_buffer, test, seed=2),
                        train_goals.numpy(), np.stack([goal[k] for k in test]))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
