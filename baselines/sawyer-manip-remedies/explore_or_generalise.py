"""Why SMAC scores 0 % on held-out sawyer-manip tasks: its exploration or the unseen layouts? (issue #18)

For a run's ``offline_end`` agent this runs protocol v2 on the same 10 training tasks twice, once with
context from the offline dataset (what the reference runs report for training tasks) and once with context
from the agent's own ``K`` exploration episodes (what held-out tasks get), and prints the success of both,
then the held-out tasks' (exploration context, as the reference runs).
If exploration context fails on training tasks too, the held-out failure is the exploration's.
``--period N`` explores (and acts in the final episode) with a fresh ``z`` every ``N`` steps instead of the
run's (rlkit: 1; 0: one ``z`` per episode); ``--checkpoint online_end`` reads the agent after its online phase.
``--explore-z mixture`` explores with ``z`` drawn around the offline-context posterior of a random training task
(one per row, both exploration episodes) instead of ``N(0, I)``: does exploring like a known task help?

    python baselines/sawyer-manip-remedies/explore_or_generalise.py RUN_DIR [--period 0] [--checkpoint online_end] \
        [--explore-z mixture]
"""

from __future__ import annotations

import dataclasses
import sys

import torch

from smac_bench.data import load_buffer
from smac_bench.harness.config import schedule_preset
from smac_bench.harness.datasets import dataset_id_of
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import evaluate_tasks
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup


def use_posterior_mixture(agent, buffer, train_ids: list[int], context_size: int) -> None:
    """Replace ``agent.prior`` (what exploration draws from) by one training task's posterior per row."""
    context = buffer.sample_context(train_ids, context_size, torch.Generator().manual_seed(0))
    with torch.no_grad():
        posterior = agent.infer_posterior(context)
    means, stds = posterior.mean, posterior.stddev
    rng = torch.Generator().manual_seed(1)

    def mixture(n: int) -> torch.distributions.Normal:
        pick = torch.randint(len(train_ids), (n,), generator=rng)
        return torch.distributions.Normal(means[pick], stds[pick])

    agent.prior = mixture


def main(run_dir: str, period: int | None = None, checkpoint: str = "offline_end", explore_z: str = "prior") -> None:
    torch.set_num_threads(1)
    agent = restore(run_dir, checkpoint=checkpoint)
    if period is not None:
        agent.config = dataclasses.replace(agent.config, exploration_resample_period=period)
    setup = family_setup("sawyer-manip")
    protocol = schedule_preset("standard").protocol()
    buffer = load_buffer(dataset_id_of("sawyer-manip"))
    if explore_z == "mixture":
        use_posterior_mixture(agent, buffer, list(setup.train_ids), protocol.context_size)
    tasks = list(setup.train_ids[:10])
    pool = EnvPool(setup.make_env)
    label = f"{run_dir} ({checkpoint}, explore z: {explore_z}): z every {agent.exploration.resample_period} steps"
    try:
        for source in ("offline", "exploration"):
            df = evaluate_tasks(agent, pool, tasks, protocol, 12345, source, "train", buffer)
            print(f"{label}, training tasks "
                  f"{tasks[0]}-{tasks[-1]}, {source} context: success "
                  f"{df['success'].mean():.3f} ({len(df)} episodes)", flush=True)
        df = evaluate_tasks(agent, pool, list(setup.test_ids), protocol, 12345, "exploration", "test")
        print(f"{label}, held-out tasks, "
              f"exploration context: success {df['success'].mean():.3f} ({len(df)} episodes)", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    options = {}
    for flag in ("--period", "--checkpoint", "--explore-z"):
        if flag in args:
            options[flag] = args.pop(args.index(flag) + 1)
            args.remove(flag)
    period = int(options["--period"]) if "--period" in options else None
    main(args[0], period, options.get("--checkpoint", "offline_end"), options.get("--explore-z", "prior"))
