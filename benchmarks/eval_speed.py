"""Env steps per second of the evaluation harness vs one env stepped with random actions.

The harness steps all ``(test task, run)`` envs of protocol v1 together and batches the policy
(a 3x300 MLP here, the size of the SMAC/PEARL policy) over them. The baseline is the plain
Gymnasium loop ``env.step(env.action_space.sample())`` on one env, measured in the same process
before and after (averaged: load on shared cores drifts). Prints both rates and their ratio
(target >= 1.0x), for the in-process pool and for env worker processes (``--workers``).

    .venv/bin/python benchmarks/eval_speed.py [--env cheetah-vel|ant-dir|sawyer-manip] [--runs 4] [--k 2]
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.distributions import Normal

import smac_bench
from smac_bench.algos.base import Agent
from smac_bench.algos.networks import mlp
from smac_bench.harness.envpool import make_pool
from smac_bench.harness.evaluate import evaluate_tasks
from smac_bench.harness.protocol import ProtocolV1


class MLPAgent(Agent):
    """Untrained agent with policy-sized networks: tanh(MLP([obs, z])) and a mean-pooled encoder."""

    name = "bench-mlp"

    def __init__(self, obs_dim: int, act_dim: int, latent_dim: int = 5) -> None:
        self.latent_dim, self.device = latent_dim, torch.device("cpu")
        self.policy = mlp(obs_dim + latent_dim, [300, 300, 300], act_dim)
        self.encoder = mlp(obs_dim + act_dim + 1, [200, 200, 200], 2 * latent_dim)

    def act(self, obs: np.ndarray, z: torch.Tensor, deterministic: bool = False) -> np.ndarray:
        with torch.no_grad():
            x = torch.cat([torch.as_tensor(obs, dtype=torch.float32), z], dim=-1)
            return torch.tanh(self.policy(x)).numpy()

    def infer_posterior(self, context: torch.Tensor) -> Normal:
        with torch.no_grad():
            out = self.encoder(context).mean(1)
        mu, raw = out.chunk(2, -1)
        return Normal(mu, nn.functional.softplus(raw) + 1e-3)

    def train_offline(self, buffer, num_updates):  # noqa: D102 - not used here
        return {}

    def train_online(self, setting, num_env_steps):  # noqa: D102
        return {}

    def save(self, directory: str | Path) -> None:  # noqa: D102
        pass

    def load(self, directory: str | Path) -> None:  # noqa: D102
        pass


def single_env_random(env_name: str, steps: int) -> float:
    """Steps/s of one env with ``action_space.sample()`` actions (resets at episode end)."""
    env = smac_bench.make_env(env_name)
    env.reset(seed=0)
    env.action_space.seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - start)


def harness_rate(env_name: str, runs: int, k: int, repeats: int, workers: int) -> tuple[float, int]:
    """Env steps/s of the protocol-v1 exploration evaluation on all test tasks (envs prebuilt)."""
    fam = smac_bench.task_family(env_name)
    probe = smac_bench.make_env(env_name)
    agent = MLPAgent(probe.observation_space.shape[0], probe.action_space.shape[0])
    protocol = ProtocolV1(num_runs=runs, num_exploration_trajectories=k)
    pool = make_pool(partial(smac_bench.make_env, env_name), workers)
    pool.ensure(len(fam.test_ids) * runs)  # building envs (and workers) is a one-off cost, not stepping speed
    total_steps, total_time = 0, 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        df = evaluate_tasks(agent, pool, fam.test_ids, protocol, 0, "exploration", "test")
        total_time += time.perf_counter() - start
        total_steps += df.attrs["env_steps"]  # exploration + final trajectories, early ends counted
    pool.close()
    return total_steps / total_time, total_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="cheetah-vel")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--baseline-steps", type=int, default=20000)
    parser.add_argument("--workers", default="0,2", help="eval env worker processes to measure (0: in-process)")
    args = parser.parse_args()
    torch.manual_seed(0)
    base = single_env_random(args.env, args.baseline_steps)
    results = []
    for w in (int(x) for x in args.workers.split(",")):
        rate, steps = harness_rate(args.env, args.runs, args.k, args.repeats, w)
        results.append((w, rate, steps))
    base = (base + single_env_random(args.env, args.baseline_steps)) / 2  # load on shared cores drifts
    print(f"env {args.env}, protocol R={args.runs} K={args.k}, torch threads {torch.get_num_threads()}, "
          f"{len(smac_bench.task_family(args.env).test_ids)} test tasks")
    print(f"single env, random actions          : {base:8.0f} env steps/s")
    for w, rate, steps in results:
        where = "in-process" if w <= 1 else f"{w} worker processes"
        print(f"harness, 3x300 MLP, {where:<17}: {rate:8.0f} env steps/s  ({steps} steps)  "
              f"ratio {rate / base:.2f}x")


if __name__ == "__main__":
    main()
