"""Held-out success when protocol v2 allows more exploration episodes (issue #18 probe).

The targets ask for SMAC at 80 % of the told bound with K = 2 exploration episodes, which even the bound's own
policy exploring by sibling elimination does not reach (``sibling_explorer.py``). This probe re-evaluates a run's
checkpoint on the held-out tasks with K = 2, 3, 4 exploration episodes (evaluation seed 12345, R = 1: a
sawyer-manip reset ignores its seed, so with the table prior a task's R = 4 runs are nearly identical), and
prints held-out success by K: what a K the filer could choose would buy. ``OVERRIDES`` (JSON) replace fields of
the agent's config first, e.g. how it explores: ``'{"exploration_prior": "standard_normal",
"exploration_resample_period": 25, "replay_rewarded_above": null}'``.

    python baselines/sawyer-manip-remedies/more_exploration.py RUN_DIR [CHECKPOINT [KS [OVERRIDES]]]   # KS: 2,3,4
"""

from __future__ import annotations

import dataclasses
import json
import sys

import torch
from run_with import FAMILY, PRESET

from smac_bench.harness.config import schedule_preset
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import evaluate_tasks
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup


def main(run_dir: str, checkpoint: str = "offline_end", ks: str = "2,3,4", overrides: str = "{}") -> None:
    torch.set_num_threads(1)
    setup, agent = family_setup(FAMILY), restore(run_dir, checkpoint=checkpoint)
    agent.config = dataclasses.replace(agent.config, **json.loads(overrides))
    pool = EnvPool(setup.make_env)
    try:
        for k in (int(v) for v in ks.split(",")):
            protocol = dataclasses.replace(schedule_preset(PRESET, FAMILY).protocol(), num_runs=1,
                                           num_exploration_trajectories=k)
            df = evaluate_tasks(agent, pool, list(setup.test_ids), protocol, 12345, "exploration", "test")
            print(f"{run_dir} ({checkpoint}) K={k} {overrides}: held-out success {df['success'].mean():.3f} "
                  f"({len(df)} episodes)", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
