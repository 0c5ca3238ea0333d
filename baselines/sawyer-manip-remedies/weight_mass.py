"""Where does SMAC's AWAC weight go on sawyer-manip? Mass on the task's own-aim episodes (issue #18).

In ``scripted-v1`` every task holds 8 episodes, of which exactly the 2 that pursue its own aim succeed
(return > -200); the other 6 pursue a sibling's aim. For a run's ``offline_end`` agent this draws, for
each of ``--tasks`` training tasks, a context from the dataset, takes ``z`` from the posterior, and
weighs every one of the task's transitions as the actor update would in one batch (softmax or whitened
``exp`` of ``(Q(s, a, z) - V(s, z)) / beta``). It prints the share of weight on own-aim transitions
(uniform weighting gives their share of the data, about 25 %), at the run's ``beta`` and, whitened, at
sharper temperatures too (the same advantages).

    python baselines/sawyer-manip-remedies/weight_mass.py RUN_DIR [--tasks 20]
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from smac_bench.algos import losses
from smac_bench.data import load_buffer, minari_io
from smac_bench.harness.datasets import dataset_id_of
from smac_bench.harness.restore import restore


def main(run_dir: str, num_tasks: int = 20) -> None:
    torch.set_num_threads(1)
    agent = restore(run_dir, checkpoint="offline_end")
    cfg = agent.config
    dataset = dataset_id_of("sawyer-manip")
    arrays = minari_io.load_arrays(dataset)
    buffer = load_buffer(dataset)
    ep_return = np.bincount(arrays["episode"], weights=arrays["rewards"])
    own = ep_return[arrays["episode"]] > -200
    gen = torch.Generator().manual_seed(0)
    betas = [cfg.awac_beta, 0.3, 0.1]
    shares, data_shares, ess = {b: [] for b in betas}, [], {b: [] for b in betas}
    for task in sorted(set(arrays["task_ids"].tolist()))[:num_tasks]:
        rows = arrays["task_ids"] == task
        obs, act = (torch.as_tensor(arrays[k][rows]) for k in ("obs", "actions"))
        with torch.no_grad():
            z = agent.infer_posterior(buffer.sample_context([task], cfg.context_size, gen)).mean.expand(len(obs), -1)
            q = agent.critic(torch.cat([obs, act, z], -1)).amin(0)
            mean, log_std = agent.policy(torch.cat([obs, z], -1))
            pre = losses.reparam_sample(mean, log_std.exp(), gen)
            v = agent.critic(torch.cat([obs, torch.tanh(pre), z], -1)).amin(0)
        mask = torch.as_tensor(own[rows])
        data_shares.append(float(mask.float().mean()))
        for i, beta in enumerate(betas):
            weigh = losses.awac_whitened_weights if cfg.awac_whiten or i > 0 else losses.awac_weights
            w = weigh(q, v, beta).reshape(-1)
            w = w / w.sum()
            shares[beta].append(float(w[mask].sum()))
            ess[beta].append(float(1 / (w**2).sum()))
    print(f"{run_dir}: {len(data_shares)} training tasks, {len(obs)} transitions each; own-aim share of the "
          f"data {np.mean(data_shares):.3f}")
    for i, beta in enumerate(betas):
        kind = "whitened" if cfg.awac_whiten or i > 0 else "softmax"
        print(f"  {kind} beta {beta:g}{' (the run)' if i == 0 else ''}: weight on own-aim transitions "
              f"{np.mean(shares[beta]):.3f}, ESS {np.mean(ess[beta]):.0f}")

if __name__ == "__main__":
    args = sys.argv[1:]
    tasks = int(args.pop(args.index("--tasks") + 1)) if "--tasks" in args else 20
    main([a for a in args if a != "--tasks"][0], tasks)
