"""AWAC weight selection on cheetah-vel: beta in {100, 10, 1} and rlkit's advantage whitening.

Each setting: SMAC at preset ``quick``, seed 0, 2,000 offline updates, then protocol v2 at the quick
schedule's values (R=4, K=2, 10 offline-context training tasks). Prints a Markdown table and writes
``results.csv`` next to this file. One torch thread; about 2 minutes per setting on a busy 2-core CPU.

    python baselines/awac-weights/measure.py [--updates 2000] [--settings beta100,beta10,beta1,whiten1]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import pandas as pd
import torch

from smac_bench.algos.base import agent_config, make_agent
from smac_bench.harness.config import SCHEDULES
from smac_bench.harness.datasets import load_offline_buffer
from smac_bench.harness.envpool import make_pool
from smac_bench.harness.evaluate import evaluate_agent
from smac_bench.harness.restore import env_dims
from smac_bench.harness.run import family_setup

SETTINGS = {
    "beta100": dict(awac_beta=100.0, awac_whiten=False),
    "beta10": dict(awac_beta=10.0, awac_whiten=False),
    "beta1": dict(awac_beta=1.0, awac_whiten=False),
    "whiten1": dict(awac_beta=1.0, awac_whiten=True),
    "whiten100": dict(awac_beta=100.0, awac_whiten=True),
}


def measure(name: str, updates: int, seed: int, buffer, setup) -> dict:
    cfg = dataclasses.replace(agent_config("smac", "quick"), **SETTINGS[name])
    obs_dim, act_dim = env_dims(setup.make_env)
    agent = make_agent("smac", obs_dim, act_dim, cfg, seed=seed)
    t0 = time.time()
    chunk = updates // 4
    stats = [agent.train_offline(buffer, chunk) for _ in range(4)]
    train_s = time.time() - t0
    protocol = SCHEDULES["quick"].protocol()
    pool = make_pool(setup.make_env, 0)
    try:
        df = evaluate_agent(agent, pool, setup.test_ids, setup.train_ids, protocol, eval_seed=seed, buffer=buffer)
    finally:
        pool.close()
    ret = df.groupby(["split", "context_source"])["return"].mean()
    last = stats[-1]
    n = cfg.meta_batch * cfg.batch_size
    return {"setting": name, "beta": cfg.awac_beta, "whiten": cfg.awac_whiten, "updates": updates,
            "batch": n, "weight_max_first": stats[0]["awac_weight_max"], "weight_max_last": last["awac_weight_max"],
            "ess_first": stats[0]["awac_ess"], "ess_last": last["awac_ess"],
            "q_mean_last": last["q_mean"], "reward_loss_last": last["reward_loss"],
            "return_exploration_test": ret.get(("test", "exploration"), float("nan")),
            "return_offline_train": ret.get(("train", "offline"), float("nan")),
            "protocol": protocol.label, "train_s": train_s}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", default="beta100,beta10,beta1,whiten1")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.csv")))
    args = parser.parse_args()
    torch.set_num_threads(1)
    buffer, _, _ = load_offline_buffer("cheetah-vel", "cpu")
    setup = family_setup("cheetah-vel")
    rows = []
    for name in args.settings.split(","):
        rows.append(measure(name, args.updates, args.seed, buffer, setup))
        print(rows[-1], flush=True)
        pd.DataFrame(rows).to_csv(args.out, index=False)
    print(pd.DataFrame(rows).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
