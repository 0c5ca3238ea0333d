"""Protocol v1 on a scripted agent with exactly known scores; seeds fixed per (task, run)."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "harness"))
from cheetah_reference import CheetahReferenceAgent  # noqa: E402
from harness_toy import TEST_IDS, TRAIN_IDS, ScriptedAgent, ToyGoalEnv, expected_return, toy_buffer  # noqa: E402

from smac_bench.harness.evaluate import EnvPool, evaluate_agent, evaluate_tasks  # noqa: E402
from smac_bench.harness.protocol import (  # noqa: E402
    ProtocolV1,
    episode_seed,
    offline_task_ids,
    trajectory_seed,
)

H = 20


def _protocol(**kw) -> ProtocolV1:
    return ProtocolV1(**{"num_runs": 3, "num_exploration_trajectories": 2, "horizon": H, **kw})


def test_protocol_defaults_are_the_paper_values():
    p = ProtocolV1()
    assert (p.num_runs, p.num_exploration_trajectories, p.horizon, p.deterministic) == (4, 2, 200, True)
    assert p.label == "v1" and p.context_size == 400
    assert _protocol().label == "v1(R=3,K=2,H=20)"
    assert ProtocolV1.from_dict(p.to_dict()) == p
    with pytest.raises(ValueError):
        ProtocolV1(num_runs=0)


def test_exploration_scores_match_hand_computation():
    agent = ScriptedAgent(2, 1, fixed_skill=1.0)
    df = evaluate_tasks(agent, EnvPool(lambda: ToyGoalEnv(horizon=H)), TEST_IDS, _protocol(), 7, "exploration", "test")
    assert len(df) == len(TEST_IDS) * 3
    assert sorted(set(zip(df.task_id, df.run, strict=True))) == [(k, r) for k in TEST_IDS for r in range(3)]
    c = 2 * H
    want = np.array([expected_return(k, H, c) for k in df.task_id])
    np.testing.assert_allclose(df["return"], want, rtol=1e-5)
    assert (df["length"] == H).all() and df["success"].isna().all()
    # KL(N(m, s) || N(0, 1)) with m = C/(C+1) g, s = 1/sqrt(C+1)
    m = c / (c + 1) * np.array([0.5 * k for k in df.task_id])
    s2 = 1 / (c + 1)
    np.testing.assert_allclose(df["posterior_kl"], 0.5 * (s2 + m**2 - 1 - np.log(s2)), rtol=1e-4)


def test_early_termination_shrinks_the_context():
    agent = ScriptedAgent(2, 1, fixed_skill=1.0)
    pool = EnvPool(lambda: ToyGoalEnv(horizon=H, early_stop=True))
    df = evaluate_tasks(agent, pool, TEST_IDS, _protocol(), 0, "exploration", "test")
    lengths = np.array([H - k for k in df.task_id])
    assert (df["length"].to_numpy() == lengths).all()
    want = [expected_return(k, L, 2 * L) for k, L in zip(df.task_id, lengths, strict=True)]
    np.testing.assert_allclose(df["return"], want, rtol=1e-5)


def test_offline_context_reads_the_task_data_from_the_buffer():
    agent = ScriptedAgent(2, 1, fixed_skill=1.0)
    pool = EnvPool(lambda: ToyGoalEnv(horizon=H))
    df = evaluate_agent(agent, pool, TEST_IDS, TRAIN_IDS, _protocol(num_offline_tasks=4), 0,
                        buffer=toy_buffer(shift=1.0))
    off = df[df.context_source == "offline"]
    assert set(off.split) == {"train"} and sorted(set(off.task_id)) == offline_task_ids(TRAIN_IDS, 4) == [0, 3, 6, 9]
    want = [expected_return(k, H, 2 * H, shift=1.0) for k in off.task_id]
    np.testing.assert_allclose(off["return"], want, rtol=1e-5)
    head = df[df.context_source == "exploration"]
    assert set(head.split) == {"test"} and (df.protocol == "v1(R=3,K=2,H=20)").all()


def test_success_is_any_step_success_of_the_final_trajectory():
    agent = ScriptedAgent(2, 1, fixed_skill=1.0)
    df = evaluate_tasks(agent, EnvPool(lambda: ToyGoalEnv(horizon=H, report_success=True)), TEST_IDS,
                        _protocol(), 0, "exploration", "test")
    # |a - g| = g / (C + 1) < 0.5 for these goals: every final trajectory succeeds
    assert (df["success"] == 1.0).all()
    agent0 = ScriptedAgent(2, 1, fixed_skill=0.0)  # acts a = 0 while g >= 5: never succeeds
    df0 = evaluate_tasks(agent0, EnvPool(lambda: ToyGoalEnv(horizon=H, report_success=True)), TEST_IDS,
                         _protocol(), 0, "exploration", "test")
    assert (df0["success"] == 0.0).all()


def test_seeds_are_fixed_per_task_and_run():
    agent = ScriptedAgent(2, 1, fixed_skill=0.9)
    make = partial(ToyGoalEnv, horizon=H, noisy=True)
    full = evaluate_tasks(agent, EnvPool(make), TEST_IDS, _protocol(), 3, "exploration", "test")
    again = evaluate_tasks(agent, EnvPool(make), TEST_IDS, _protocol(), 3, "exploration", "test")
    assert full.equals(again)
    # A subset of tasks, other chunking, or a reversed task order: same numbers per (task, run).
    sub = evaluate_tasks(agent, EnvPool(make), TEST_IDS[::-1][:2], _protocol(), 3, "exploration", "test", max_envs=4)
    merged = sub.merge(full, on=["task_id", "run"], suffixes=("", "_full"))
    assert len(merged) == len(sub)
    np.testing.assert_allclose(merged["return"], merged["return_full"], rtol=1e-6)
    # Seeds are assigned in advance and all distinct; another eval seed changes the noise.
    assert full["episode_seed"].tolist() == [episode_seed(3, k, r) for k in TEST_IDS for r in range(3)]
    assert full["episode_seed"].nunique() == len(full)
    other = evaluate_tasks(agent, EnvPool(make), TEST_IDS, _protocol(), 4, "exploration", "test")
    assert not np.allclose(other["return"], full["return"])
    assert trajectory_seed(5, 0) != trajectory_seed(5, 1)


class _ZLoggingAgent(ScriptedAgent):
    """Records the z of every act call on the first time step (to check prior draws)."""

    def __init__(self):
        super().__init__(2, 1, fixed_skill=1.0)
        self.first_z: list[np.ndarray] = []

    def act(self, obs, z, deterministic=False):
        if (obs[:, 1] == 0).all():
            self.first_z.append(z.numpy().copy())
        return super().act(obs, z, deterministic)


def test_exploration_uses_fresh_prior_draws_then_the_posterior_mean():
    agent = _ZLoggingAgent()
    evaluate_tasks(agent, EnvPool(lambda: ToyGoalEnv(horizon=H)), TEST_IDS, _protocol(), 0, "exploration", "test")
    assert len(agent.first_z) == 3  # K exploration trajectories + the final one
    z0, z1, zf = agent.first_z
    assert not np.allclose(z0, z1)  # a new prior draw per exploration trajectory
    assert abs(z0.mean()) < 1.0 and 0.3 < z0.std() < 2.0  # ~N(0, 1) over 12 rows
    c = 2 * H
    np.testing.assert_allclose(zf[:, 0], [c / (c + 1) * 0.5 * k for k in TEST_IDS for _ in range(3)], rtol=1e-5)


def test_batched_rollouts_match_a_one_env_reference_on_cheetah_vel():
    """The vectorised engine equals the protocol written out one episode at a time."""
    import smac_bench

    proto = ProtocolV1(num_runs=2, num_exploration_trajectories=1, horizon=30)
    agent = CheetahReferenceAgent(posterior_std=1.0)
    tasks = (101, 117)
    df = evaluate_tasks(agent, EnvPool(partial(smac_bench.make_env, "cheetah-vel")), tasks, proto, 11,
                        "exploration", "test")
    env = smac_bench.make_env("cheetah-vel")
    for row in df.to_dict("records"):
        seed = episode_seed(11, row["task_id"], row["run"])
        z = torch.as_tensor(np.random.default_rng([seed, 2, 0]).standard_normal(2), dtype=torch.float32)[None]
        obs, _ = env.reset(seed=trajectory_seed(seed, 0), options={"task_id": row["task_id"]})
        ctx = []
        for _ in range(30):
            a = agent.act(obs[None].astype(np.float32), z)[0]
            nxt, r, *_ = env.step(a)
            ctx.append(np.concatenate([obs, a, [r]]))
            obs = nxt
        zf = agent.infer_posterior(torch.as_tensor(np.array(ctx), dtype=torch.float32)[None]).mean
        obs, _ = env.reset(seed=trajectory_seed(seed, 1), options={"task_id": row["task_id"]})
        total = 0.0
        for _ in range(30):
            obs, r, *_ = env.step(agent.act(obs[None].astype(np.float32), zf)[0])
            total += r
        assert row["return"] == pytest.approx(total, rel=1e-4, abs=1e-3)


def test_process_pool_gives_the_same_numbers():
    import smac_bench
    from smac_bench.harness.envpool import ProcessEnvPool

    proto = ProtocolV1(num_runs=2, num_exploration_trajectories=1, horizon=15)
    agent = CheetahReferenceAgent(posterior_std=1.0)
    make = partial(smac_bench.make_env, "cheetah-vel")
    local = evaluate_tasks(agent, EnvPool(make), (100, 105, 110), proto, 2, "exploration", "test")
    pool = ProcessEnvPool(make, 2)
    try:
        remote = evaluate_tasks(agent, pool, (100, 105, 110), proto, 2, "exploration", "test")
    finally:
        pool.close()
    assert local.equals(remote)
