"""Protocol v2: the agent's exploration policy draws z; a one-episode-at-a-time reference and labels."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "harness"))
from cheetah_reference import CheetahReferenceAgent  # noqa: E402

from smac_bench.algos.exploration import ExplorationPolicy  # noqa: E402
from smac_bench.harness.evaluate import EnvPool, evaluate_tasks  # noqa: E402
from smac_bench.harness.protocol import (  # noqa: E402
    ProtocolV1,
    ProtocolV2,
    episode_seed,
    protocol_from_dict,
    trajectory_seed,
)


def test_labels_and_versions():
    assert ProtocolV2().label == "v2" and ProtocolV1().label == "v1"
    assert ProtocolV2(num_runs=1, num_exploration_trajectories=1).label == "v2(R=1,K=1,H=200)"
    assert protocol_from_dict(ProtocolV2(num_runs=2).to_dict()) == ProtocolV2(num_runs=2)
    assert isinstance(protocol_from_dict({"num_runs": 4}), ProtocolV1)  # configs written before v2
    with pytest.raises(ValueError):
        ProtocolV2(version="v1")
    with pytest.raises(ValueError):
        protocol_from_dict({"version": "v9"})


@pytest.mark.parametrize("period", [1, 7, 0])
def test_v2_matches_a_one_episode_reference_on_cheetah_vel(period):
    """z redrawn from the prior every `period` steps while exploring, from the posterior in the final episode."""
    import smac_bench

    h = 30
    proto = ProtocolV2(num_runs=2, num_exploration_trajectories=2, horizon=h)
    agent = CheetahReferenceAgent(ExplorationPolicy(resample_period=period))
    tasks = (101, 117)
    df = evaluate_tasks(agent, EnvPool(partial(smac_bench.make_env, "cheetah-vel")), tasks, proto, 11,
                        "exploration", "test")
    env = smac_bench.make_env("cheetah-vel")

    def episode(seed, j, task, mean, std):
        draws = 1 if period == 0 else -(-h // period)
        eps = np.random.default_rng([seed, 3, j]).standard_normal((draws, 2))
        obs, _ = env.reset(seed=trajectory_seed(seed, j), options={"task_id": task})
        total, ctx = 0.0, []
        for t in range(h):
            z = mean + std * torch.as_tensor(eps[0 if period == 0 else t // period], dtype=torch.float32)
            a = agent.act(obs[None].astype(np.float32), z[None])[0]
            nxt, r, *_ = env.step(a)
            ctx.append(np.concatenate([obs, a, [r]]))
            total, obs = total + r, nxt
        return total, ctx

    for row in df.to_dict("records"):
        seed = episode_seed(11, row["task_id"], row["run"])
        ctx = []
        for j in range(2):
            ctx += episode(seed, j, row["task_id"], torch.zeros(2), torch.ones(2))[1]
        q = agent.infer_posterior(torch.as_tensor(np.array(ctx), dtype=torch.float32)[None])
        total, _ = episode(seed, 2, row["task_id"], q.mean[0], q.stddev[0])
        assert row["return"] == pytest.approx(total, rel=1e-4, abs=1e-3)


def test_v2_rows_ignore_the_batch_they_run_in_and_differ_from_v1():
    import smac_bench

    make = partial(smac_bench.make_env, "cheetah-vel")
    agent = CheetahReferenceAgent()
    proto = ProtocolV2(num_runs=2, num_exploration_trajectories=1, horizon=15)
    both = evaluate_tasks(agent, EnvPool(make), (100, 110), proto, 3, "exploration", "test")
    alone = evaluate_tasks(agent, EnvPool(make), (110,), proto, 3, "exploration", "test")
    chunked = evaluate_tasks(agent, EnvPool(make), (100, 110), proto, 3, "exploration", "test", max_envs=1)
    np.testing.assert_array_equal(both[both.task_id == 110]["return"].to_numpy(), alone["return"].to_numpy())
    assert both.equals(chunked)
    assert len(both.attrs["posterior_mean"]) == len(both) and len(both.attrs["posterior_std"][0]) == 2
    v1 = evaluate_tasks(agent, EnvPool(make), (100, 110), ProtocolV1(num_runs=2, num_exploration_trajectories=1,
                                                                      horizon=15), 3, "exploration", "test")
    assert not np.allclose(v1["return"], both["return"])


def test_final_z_mean_uses_the_posterior_mean():
    import smac_bench

    make = partial(smac_bench.make_env, "cheetah-vel")
    proto = ProtocolV2(num_runs=1, num_exploration_trajectories=1, horizon=10)
    sample = evaluate_tasks(CheetahReferenceAgent(ExplorationPolicy(1, "sample")), EnvPool(make), (100,), proto, 0,
                            "exploration", "test")
    mean = evaluate_tasks(CheetahReferenceAgent(ExplorationPolicy(1, "mean")), EnvPool(make), (100,), proto, 0,
                          "exploration", "test")
    assert sample.posterior_kl.equals(mean.posterior_kl)  # same exploration, same posterior
    assert not np.allclose(sample["return"], mean["return"])  # different final-episode z
