"""The ``"table"`` exploration prior (issue #18): fitted to the scenes of the data, used while collecting online
and in protocol v2, with the final episode acting again on the latent that earned reward."""

from __future__ import annotations

import dataclasses
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "harness"))
import harness_toy  # noqa: E402
from cheetah_reference import CheetahReferenceAgent  # noqa: E402

from smac_bench.algos import online  # noqa: E402
from smac_bench.algos.base import OnlineSetting, agent_config, make_agent  # noqa: E402
from smac_bench.algos.exploration import ExplorationPolicy  # noqa: E402
from smac_bench.algos.table_prior import TablePrior, fit_table_prior, replay_choice  # noqa: E402
from smac_bench.errors import UserError  # noqa: E402
from smac_bench.harness.evaluate import EnvPool, evaluate_tasks  # noqa: E402
from smac_bench.harness.protocol import ProtocolV2, episode_seed, trajectory_seed  # noqa: E402


def test_the_fit_puts_a_scenes_two_tasks_on_its_two_most_probable_components():
    """Each of 60 scenes hosts two tasks whose latents depend on the scene; one latent per task to fit."""
    rng = np.random.default_rng(0)
    scenes = torch.as_tensor(rng.uniform(-1, 1, (60, 3)), dtype=torch.float32)
    shift = scenes[:, :1].repeat(1, 2)
    tasks = torch.cat([shift + 1.5, shift - 1.5])  # [120, 2]
    prior = TablePrior(3, 2, components=4)
    nll = fit_table_prior(prior, torch.cat([scenes, scenes]), tasks, seed=0, steps=1500)
    assert nll[-1] < nll[0] - 1.0
    first, second = prior.ranked_mean(scenes, 0), prior.ranked_mean(scenes, 1)
    found = torch.stack([first, second], 1)  # [60, 2 ranks, L]
    truth = torch.stack([shift + 1.5, shift - 1.5], 1)  # [60, 2 tasks, L]
    nearest = torch.cdist(truth, found).amin(-1)  # each task's distance to the nearer of the two picks
    assert float(nearest.quantile(0.9)) < 0.3, nearest.max()
    per_row = prior.ranked_mean(scenes, torch.tensor([0, 1]).repeat(30))
    torch.testing.assert_close(per_row[::2], first[::2])
    torch.testing.assert_close(per_row[1::2], second[1::2])


def test_replay_picks_the_best_returning_episode_that_earned_reward():
    returns = np.array([[-200.0, -150.0], [-120.0, -180.0], [-200.0, -200.0], [-90.0, -100.0]])
    max_rewards = np.array([[-1.0, 0.0], [0.0, 0.0], [-1.0, -1.0], [-1.0, 0.0]])
    np.testing.assert_array_equal(replay_choice(returns, max_rewards, -1.0), [1, 0, -1, 1])


class _TableAgent(CheetahReferenceAgent):
    """The reference agent exploring with latents that are a known function of the reset observation and the
    episode (the ``"table"`` rule's interface)."""

    def __init__(self, replay_above: float | None) -> None:
        super().__init__(ExplorationPolicy(resample_period=1, prior="table", replay_above=replay_above))

    def exploration_latents(self, first_obs, episode):
        obs = torch.as_tensor(first_obs, dtype=torch.float32)
        return torch.stack([10 * obs[:, 0] + 2.0 * episode - 1.0, 5 * obs[:, 1]], 1)


def test_v2_explores_with_the_table_prior_and_replays_the_latent_that_earned_reward():
    """Against a one-episode-at-a-time reference on cheetah-vel; the threshold sits between the rows' best
    exploration rewards, so some rows replay and the others act on the posterior."""
    import smac_bench

    h, tasks = 25, (101, 117, 129)
    proto = ProtocolV2(num_runs=2, num_exploration_trajectories=2, horizon=h)
    env = smac_bench.make_env("cheetah-vel")
    agent = _TableAgent(None)

    def episode(seed, j, task, z_of_step):
        obs, _ = env.reset(seed=trajectory_seed(seed, j), options={"task_id": task})
        z_first = agent.exploration_latents(obs[None], j)[0]
        total, top, ctx = 0.0, -np.inf, []
        for t in range(h):
            a = agent.act(obs[None].astype(np.float32), (z_first if z_of_step is None else z_of_step(t))[None])[0]
            nxt, r, *_ = env.step(a)
            ctx.append(np.concatenate([obs, a, [r]]))
            total, top, obs = total + r, max(top, r), nxt
        return total, top, ctx, z_first

    rows = [(k, r) for k in tasks for r in range(2)]
    explored = {row: [episode(episode_seed(5, *row), j, row[0], None) for j in range(2)] for row in rows}
    tops = sorted(max(e[1] for e in explored[row]) for row in rows)
    above = float((tops[2] + tops[3]) / 2)
    df = evaluate_tasks(_TableAgent(above), EnvPool(partial(smac_bench.make_env, "cheetah-vel")), tasks, proto, 5,
                        "exploration", "test")
    replayed = 0
    for row in df.to_dict("records"):
        key = (row["task_id"], row["run"])
        seed = episode_seed(5, *key)
        (ret0, top0, ctx0, z0), (ret1, top1, ctx1, z1) = explored[key]
        earned = [(ret, z) for ret, top, z in ((ret0, top0, z0), (ret1, top1, z1)) if top > above]
        if earned:
            replayed += 1
            z_final = max(earned, key=lambda e: e[0])[1]
            total = episode(seed, 2, key[0], lambda t, z=z_final: z)[0]
        else:
            q = agent.infer_posterior(torch.as_tensor(np.array(ctx0 + ctx1), dtype=torch.float32)[None])
            eps = np.random.default_rng([seed, 3, 2]).standard_normal((h, 2))
            total = episode(seed, 2, key[0], lambda t, q=q, eps=eps: q.mean[0] + q.stddev[0] * torch.as_tensor(
                eps[t], dtype=torch.float32))[0]
        assert row["return"] == pytest.approx(total, rel=1e-4, abs=1e-3)
    assert 0 < replayed < len(rows)


def _table_smac(**changes):
    config = dataclasses.replace(agent_config("smac", "smoke"), **{"exploration_prior": "table", **changes})
    return make_agent("smac", 2, 1, config, seed=1)


def test_online_prior_episodes_act_on_the_ranked_components_of_their_first_observation():
    agent = _table_smac(online_tasks_per_iter=2, online_prior_steps=20, online_posterior_steps=0,
                        online_updates_per_iter=1)
    buffer = harness_toy.toy_buffer(per_task=40)
    agent.train_offline(buffer, 5)
    calls = []
    original = agent.exploration_latents

    def recording(first_obs, episode):
        calls.append((np.array(first_obs), torch.as_tensor(episode).tolist()))
        return original(first_obs, episode)

    agent.exploration_latents = recording
    setting = OnlineSetting(make_env=lambda: harness_toy.ToyGoalEnv(horizon=10, noisy=True),
                            task_ids=list(harness_toy.TRAIN_IDS), offline=buffer)
    online.train_online(agent, setting, 40)
    assert [episodes for _, episodes in calls] == [[0, 0], [1, 1]]
    rollout = agent.last_rollouts[0]
    starts = rollout.obs[rollout.obs[:, 1] == 0]  # toy obs [u, t]: t = 0 at reset
    np.testing.assert_array_equal(np.concatenate([c[0] for c in calls])[[0, 2, 1, 3]], starts)


def test_the_prior_is_refitted_identically_after_a_resume_and_travels_in_checkpoints(tmp_path):
    buffer = harness_toy.toy_buffer(per_task=40)
    straight = _table_smac()
    straight.train_offline(buffer, 3)
    straight.train_offline(buffer, 3)
    first = _table_smac()
    first.train_offline(buffer, 3)
    first.save(tmp_path / "agent")
    resumed = _table_smac()
    resumed.load(tmp_path / "agent")
    obs = np.array([[0.05, 0.0], [-0.05, 0.0]], np.float32)
    torch.testing.assert_close(resumed.exploration_latents(obs, 1), first.exploration_latents(obs, 1))
    resumed.train_offline(buffer, 3)
    for rank in (0, 1):
        torch.testing.assert_close(resumed.exploration_latents(obs, rank), straight.exploration_latents(obs, rank))
    assert not torch.equal(straight.exploration_latents(obs, 0), first.exploration_latents(obs, 0))


def test_an_unknown_exploration_prior_is_refused_in_one_line():
    with pytest.raises(UserError, match="exploration_prior must be one of standard_normal, table"):
        _table_smac(exploration_prior="tables")
    with pytest.raises(ValueError, match="exploration_prior='table'"):
        make_agent("smac", 2, 1, agent_config("smac", "smoke"), seed=0).exploration_latents(np.zeros((1, 2)), 0)


def test_a_place_prior_moves_every_components_place_with_the_scene_and_nothing_else():
    from smac_bench.algos.inputs import latent_place
    from smac_bench.envs.sawyer.env import OBS_DIM, SLOT_START

    rng = np.random.default_rng(3)
    obs = torch.zeros(5, OBS_DIM)
    obs[:, 0:4] = torch.as_tensor(rng.uniform(0, 0.5, (5, 4)), dtype=torch.float32)
    for kind in ("button", "puck"):  # present; drawer and tray absent
        s = SLOT_START[kind]
        obs[:, s] = 1.0
        obs[:, s + 1:s + 7] = torch.as_tensor(rng.uniform(-0.3, 0.9, (5, 6)), dtype=torch.float32)
    moved, shift = obs.clone(), torch.tensor([0.25, -0.1, 0.0])
    for s in (0, SLOT_START["button"] + 1, SLOT_START["puck"] + 1):
        moved[:, s:s + 3] += shift
    prior = TablePrior(OBS_DIM, 5, components=3, place=True)
    (log_w, mean, log_std), (log_w2, mean2, log_std2) = prior(obs), prior(moved)
    torch.testing.assert_close(latent_place(mean2) - latent_place(mean), shift.expand(5, 3, 3))
    torch.testing.assert_close((log_w, mean[..., 3:], log_std), (log_w2, mean2[..., 3:], log_std2))
    far = obs.clone()  # an absent object's position counts for nothing
    far[:, SLOT_START["tray"] + 1:SLOT_START["tray"] + 4] = 5.0
    torch.testing.assert_close(prior(far)[1], mean)
