"""Env steps per second of ``smac_bench/SawyerManip-v1`` vs Meta-World's button-press, same run.

    python benchmarks/sawyer_speed.py [--steps 4000]

Both envs are made with ``gymnasium.make`` (wrappers included) and driven by uniform random
actions in one process; episodes are 200 steps. Reported: step throughput (reset time excluded)
and throughput with resets included, and the ratio ours / Meta-World's.
"""

from __future__ import annotations

import argparse
import time

import gymnasium
import numpy as np

import smac_bench  # noqa: F401  (registers smac_bench/SawyerManip-v1, picks a headless GL)


def measure(env: gymnasium.Env, steps: int, task_ids: list[int] | None, episode: int = 200) -> tuple[float, float]:
    """``(steps/s excluding resets, steps/s including resets)`` over ``steps`` random steps."""
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1.0, 1.0, size=(steps, 4)).astype(np.float32)
    step_time = reset_time = 0.0
    for start in range(0, steps, episode):
        t0 = time.perf_counter()
        options = {"task_id": task_ids[(start // episode) % len(task_ids)]} if task_ids else None
        env.reset(seed=start, options=options)
        t1 = time.perf_counter()
        for a in actions[start:start + episode]:
            env.step(a)
        t2 = time.perf_counter()
        reset_time += t1 - t0
        step_time += t2 - t1
    return steps / step_time, steps / (step_time + reset_time)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000, help="env steps per env (default 4000)")
    args = parser.parse_args()

    import metaworld  # noqa: F401  (registers Meta-World/MT1)

    ours = gymnasium.make("smac_bench/SawyerManip-v1")
    family = ours.unwrapped.family
    firsts = {}  # the first task of each layout: siblings share the scene
    for t in family.tasks:
        firsts.setdefault(t.params["layout"], t.task_id)
    train, test = set(family.train_ids), set(family.test_ids)
    task_ids = [k for k in firsts.values() if k in train][:6] + [k for k in firsts.values() if k in test][:4]
    # 2 to 4 objects per scene
    for k in task_ids:  # compile every object set once, outside the timing (cached per process)
        ours.reset(options={"task_id": k})
    theirs = gymnasium.make("Meta-World/MT1", env_name="button-press-v3")
    theirs.reset(seed=0)

    ours_step, ours_all = measure(ours, args.steps, task_ids)
    theirs_step, theirs_all = measure(theirs, args.steps, None)
    print(f"{'env':<32}{'steps/s':>10}{'with resets':>14}")
    print(f"{'smac_bench/SawyerManip-v1':<32}{ours_step:>10.0f}{ours_all:>14.0f}")
    print(f"{'Meta-World button-press-v3':<32}{theirs_step:>10.0f}{theirs_all:>14.0f}")
    print(f"ratio ours/Meta-World: {ours_step / theirs_step:.2f} (steps), {ours_all / theirs_all:.2f} (with resets)")


if __name__ == "__main__":
    main()
