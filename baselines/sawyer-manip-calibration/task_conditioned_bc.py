"""Diagnostic: behaviour cloning on the sawyer-manip dataset with the true task given to the policy.

    python baselines/sawyer-manip-calibration/task_conditioned_bc.py [--own-aim-only] [--steps 10000]

An MLP maps (observation, one-hot aim, goal point) to the dataset's action (MSE through tanh) and is
then rolled out, noise-free, on the first 24 training tasks. It separates "the data can teach the
skills" from "task inference or the actor's weighting fails": with ``--own-aim-only`` it learns only
from each task's last 4 episodes (the task's own aim); without, from all 6, as an offline meta-RL
agent whose advantage weights are flat would.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

import smac_bench
from smac_bench.algos.networks import mlp
from smac_bench.data import load_buffer

AIMS = ("press_button", "open_drawer", "close_drawer", "place_puck", "place_in_tray", "reach")
OWN_AIM_START = 400  # each task's first 2 episodes (2 x 200 steps) pursue another aim


def task_features(params: dict) -> np.ndarray:
    """One-hot aim plus the goal point (zeros where the aim has none)."""
    f = np.zeros(len(AIMS) + 3, np.float32)
    f[AIMS.index(params["aim"])] = 1.0
    if params["goal"] is not None:
        f[len(AIMS):len(AIMS) + len(params["goal"])] = params["goal"]
    return f


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--own-aim-only", action="store_true", help="clone only own-aim episodes")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=24, help="training tasks to roll out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    params = {t.task_id: t.params for t in smac_bench.task_family("sawyer-manip").train}
    buf = load_buffer("smac-bench/sawyer-manip/scripted-v0")
    first = OWN_AIM_START if args.own_aim_only else 0
    obs, act = buf.obs[:, first:], buf.actions[:, first:]
    feats = torch.as_tensor(np.stack([task_features(params[t]) for t in buf.task_ids]))
    x = torch.cat([obs, feats[:, None].expand(-1, obs.shape[1], -1)], -1).reshape(-1, obs.shape[-1] + feats.shape[-1])
    y = act.reshape(-1, act.shape[-1]).clamp(-1.0, 1.0)
    net = mlp(x.shape[1], [256, 256], y.shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=3e-4)
    start = time.perf_counter()
    for _ in range(args.steps):
        idx = torch.randint(len(x), (256,))
        loss = ((torch.tanh(net(x[idx])) - y[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"data: {'own-aim episodes' if args.own_aim_only else 'all episodes'} ({len(x)} transitions); "
          f"{args.steps} steps in {time.perf_counter() - start:.0f} s, last loss {loss.item():.4f}")
    env = gym.make("smac_bench/SawyerManip-v0")
    solved: dict[str, list[bool]] = {}
    for task in buf.task_ids[:args.tasks]:
        o, _ = env.reset(seed=task, options={"task_id": task})
        f, success = torch.as_tensor(task_features(params[task])), False
        for _ in range(200):
            with torch.no_grad():
                a = torch.tanh(net(torch.cat([torch.as_tensor(o, dtype=torch.float32), f]))).numpy()
            o, _, terminated, truncated, info = env.step(a)
            success |= bool(info["success"])
            if terminated or truncated:
                break
        solved.setdefault(params[task]["aim"], []).append(success)
    total = sum(sum(v) for v in solved.values())
    print(f"success on {args.tasks} training tasks: {total}/{args.tasks}  "
          + ", ".join(f"{aim} {sum(v)}/{len(v)}" for aim, v in solved.items()))


if __name__ == "__main__":
    main()
