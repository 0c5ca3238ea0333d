"""Why SMAC scores 0 % on held-out sawyer-manip tasks: its exploration or the unseen layouts? (issue #18)

For a run's ``offline_end`` agent this runs protocol v2 on the same 10 training tasks twice, once with
context from the offline dataset (what the reference runs report for training tasks) and once with context
from the agent's own ``K`` exploration episodes (what held-out tasks get), and prints the success of both,
then the held-out tasks' (exploration context, as the reference runs).
If exploration context fails on training tasks too, the held-out failure is the exploration's.
``--period N`` explores (and acts in the final episode) with a fresh ``z`` every ``N`` steps instead of the
run's (rlkit: 1; 0: one ``z`` per episode); ``--checkpoint online_end`` reads the agent after its online phase.

    python baselines/sawyer-manip-remedies/explore_or_generalise.py RUN_DIR [--period 0] [--checkpoint online_end]
"""

from __future__ import annotations

import dataclasses
import sys

import torch

from smac_bench.data import load_buffer
from smac_bench.harness.config import schedule_preset
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import evaluate_tasks
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup


def main(run_dir: str, period: int | None = None, checkpoint: str = "offline_end") -> None:
    torch.set_num_threads(1)
    agent = restore(run_dir, checkpoint=checkpoint)
    if period is not None:
        agent.config = dataclasses.replace(agent.config, exploration_resample_period=period)
    setup = family_setup("sawyer-manip")
    protocol = schedule_preset("standard").protocol()
    buffer = load_buffer("smac-bench/sawyer-manip/scripted-v1")
    tasks = list(setup.train_ids[:10])
    pool = EnvPool(setup.make_env)
    try:
        for source in ("offline", "exploration"):
            df = evaluate_tasks(agent, pool, tasks, protocol, 12345, source, "train", buffer)
            print(f"{run_dir} ({checkpoint}): z every {agent.exploration.resample_period} steps, training tasks "
                  f"{tasks[0]}-{tasks[-1]}, {source} context: success "
                  f"{df['success'].mean():.3f} ({len(df)} episodes)", flush=True)
        df = evaluate_tasks(agent, pool, list(setup.test_ids), protocol, 12345, "exploration", "test")
        print(f"{run_dir} ({checkpoint}): z every {agent.exploration.resample_period} steps, held-out tasks, "
              f"exploration context: success {df['success'].mean():.3f} ({len(df)} episodes)", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    options = {}
    for flag in ("--period", "--checkpoint"):
        if flag in args:
            options[flag] = args.pop(args.index(flag) + 1)
            args.remove(flag)
    period = int(options["--period"]) if "--period" in options else None
    main(args[0], period, options.get("--checkpoint", "offline_end"))
