"""How well does an actor fit the task's own-aim actions on sawyer-manip? (issue #18, item 5)

Two probes, no env steps; the figure is the squared error ``||tanh(mean) - a||^2`` (summed over the 4 action
dimensions) of the deterministic action on the dataset's own-aim transitions (the 2 of 8 episodes of each
task that succeed, what ``bc-task`` clones):

* ``told LIKELIHOOD [CLIP]`` — told the task (one-hot), an MLP fits the own-aim transitions of every training
  task by ``tanh_gaussian`` log-likelihood (actions clipped to ``±CLIP`` before ``atanh``, rlkit 0.999999),
  ``action_gaussian`` log-likelihood or least squares (``mse``): 3,000 updates of 512, Adam 3e-4.
* ``smac JSON UPDATES`` — SMAC's offline phase with sawyer-manip's settings and the JSON overrides, printing
  every 2,000 updates the error on own-aim and on other-aim transitions of 20 training tasks, ``z`` the
  posterior mean of a 256-transition dataset context.

    python baselines/sawyer-manip-remedies/actor_fit.py told tanh_gaussian 0.99
    python baselines/sawyer-manip-remedies/actor_fit.py smac '{"policy_lr": 0.001}' 16000
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import numpy as np
import torch

from smac_bench.algos import agent_config, losses, make_agent
from smac_bench.data import load_buffer, minari_io
from smac_bench.harness.datasets import dataset_id_of

DATASET = dataset_id_of("sawyer-manip")


def own_aim_rows(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Rows of episodes that succeed under their task's reward (return above -200, the horizon's)."""
    totals = np.bincount(arrays["episode"], weights=arrays["rewards"])
    return totals[arrays["episode"]] > -200


def told(likelihood: str, clip: float) -> None:
    arrays = minari_io.load_arrays(DATASET)
    own = own_aim_rows(arrays)
    tasks = {t: i for i, t in enumerate(np.unique(arrays["task_ids"]))}
    onehot = torch.nn.functional.one_hot(torch.as_tensor([tasks[t] for t in arrays["task_ids"][own]]), len(tasks))
    x = torch.cat([torch.as_tensor(arrays["obs"][own]), onehot.float()], -1)
    actions = torch.as_tensor(arrays["actions"][own])
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                              torch.nn.ReLU(), torch.nn.Linear(256, 8))
    optimizer = torch.optim.Adam(net.parameters(), 3e-4)
    gen = torch.Generator().manual_seed(0)
    for step in range(1, 3001):
        i = torch.randint(len(x), (512,), generator=gen)
        mean, log_std = net(x[i]).chunk(2, -1)
        log_std = log_std.clamp(-20, 2)
        if likelihood == "mse":
            loss = (torch.tanh(mean) - actions[i]).square().sum(-1).mean()
        elif likelihood == "action_gaussian":
            loss = -losses.action_gaussian_log_prob(actions[i], mean, log_std).mean()
        else:
            loss = -losses.tanh_gaussian_log_prob(torch.atanh(actions[i].clamp(-clip, clip)), mean, log_std).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 1000 == 0:
            with torch.no_grad():
                mean, log_std = net(x).chunk(2, -1)
                error = float((torch.tanh(mean) - actions).square().sum(-1).mean())
            print(f"told {likelihood} clip {clip:g} {step}: error {error:.3f}, "
                  f"std {log_std.clamp(-20, 2).exp().mean(0).numpy().round(2)}", flush=True)


def smac(overrides: dict, updates: int) -> None:
    arrays, buffer = minari_io.load_arrays(DATASET), load_buffer(DATASET)
    own = own_aim_rows(arrays)
    config = dataclasses.replace(agent_config("smac", "standard", "sawyer-manip"), **overrides)
    agent = make_agent("smac", buffer.obs_dim, buffer.act_dim, config, seed=0)
    start = time.time()
    for k in range(updates // 2000):
        stats = agent.train_offline(buffer, 2000)
        gen, errors = torch.Generator().manual_seed(0), []
        for task in sorted(set(arrays["task_ids"].tolist()))[:20]:
            rows = arrays["task_ids"] == task
            obs, act = (torch.as_tensor(arrays[n][rows]) for n in ("obs", "actions"))
            mask = torch.as_tensor(own[rows])
            with torch.no_grad():
                z = agent.infer_posterior(buffer.sample_context([task], 256, gen)).mean.expand(len(obs), -1)
                mean, _ = agent.policy(torch.cat([obs, z], -1))
            error = (torch.tanh(mean) - act).square().sum(-1)
            errors.append((float(error[mask].mean()), float(error[~mask].mean())))
        own_error, other_error = np.mean(errors, 0)
        print(f"smac {json.dumps(overrides)} {(k + 1) * 2000}: own-aim {own_error:.3f}, other-aim {other_error:.3f}, "
              f"KL {stats['kl']:.2f}, {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if sys.argv[1] == "told":
        told(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.999999)
    else:
        smac(json.loads(sys.argv[2]), int(sys.argv[3]))
