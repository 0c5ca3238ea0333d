"""Held-out sawyer-manip tasks scored with offline-style context: execution or identification? (issue #18)

Held-out tasks have no offline data, so the protocol scores them with the agent's own exploration context
only. This probe simulates the data the scripted-v1 recipe would have recorded for them (every sibling's aim
pursued in turn, 8 episodes a task, with the recipe's noise, each rewarded by the task itself), then scores
a run's agent on the held-out tasks with context drawn from it, as training tasks are scored. High success
here and low success with exploration context means the agent can act on unseen layouts once it knows the
task, and what fails is finding out; low success here means the policy (or encoder) does not carry over.
The simulated data is cached in ``CACHE`` (it depends on the task list and the recipe only).

    python baselines/sawyer-manip-remedies/heldout_offline_context.py RUN_DIR [CHECKPOINT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from smac_bench.data.buffer import MultiTaskBuffer
from smac_bench.envs import task_family
from smac_bench.harness.config import schedule_preset
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import evaluate_tasks
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup
from smac_bench.recipes.rollout import rollout
from smac_bench.recipes.scripted import EPISODES_PER_AIM_V1, sibling_behaviour

FAMILY = "sawyer-manip"
CACHE = Path("/tmp/sawyer-manip-heldout-scripted.npz")


def heldout_buffer(test_ids: list[int], cache: Path = CACHE) -> MultiTaskBuffer:
    """The recipe's behaviour on ``test_ids`` (tasks without offline data), as a buffer (cached in ``cache``)."""
    if not cache.is_file():
        policies = sibling_behaviour(FAMILY)
        episodes = rollout(FAMILY, test_ids, policies, None, seed=0, episodes_per_task=len(policies),
                           schedule=lambda _t, e: e % len(policies), max_envs=8)
        obs = np.concatenate([np.asarray(e.observations[:-1]) for e in episodes])
        nxt = np.concatenate([np.asarray(e.observations[1:]) for e in episodes])
        act = np.concatenate([np.asarray(e.actions) for e in episodes])
        rew = np.concatenate([np.asarray(e.rewards)[:, None] for e in episodes])
        term = np.concatenate([np.asarray(e.terminations, float)[:, None] for e in episodes])
        ids = np.concatenate([np.full(e.length, e.task_id) for e in episodes])
        np.savez(cache, obs=obs, act=act, rew=rew, nxt=nxt, term=term, ids=ids)
    d = np.load(cache)
    return MultiTaskBuffer.from_arrays(d["obs"], d["act"], d["rew"], d["nxt"], d["term"], d["ids"])


def main(run_dir: str, checkpoint: str = "online_end") -> None:
    torch.set_num_threads(1)
    setup = family_setup(FAMILY)
    test_ids = list(setup.test_ids)
    buffer = heldout_buffer(test_ids)
    print(f"held-out scripted data: {EPISODES_PER_AIM_V1} episodes per sibling aim, "
          f"success share of steps {float((buffer.rewards > -1).float().mean()):.3f}", flush=True)
    agent = restore(run_dir, checkpoint=checkpoint)
    protocol = schedule_preset("standard").protocol()
    pool = EnvPool(setup.make_env)
    try:
        df = evaluate_tasks(agent, pool, test_ids, protocol, 12345, "offline", "test", buffer)
    finally:
        pool.close()
    print(f"{run_dir} ({checkpoint}): held-out tasks, offline-style context: success "
          f"{df['success'].mean():.3f} ({len(df)} episodes)", flush=True)
    aims = {k: task_family(FAMILY).task(k).params["aim"] for k in test_ids}
    print(df.assign(aim=df["task_id"].map(aims)).groupby("aim")["success"].mean().round(2).to_string(), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
