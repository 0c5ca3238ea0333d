"""Issue #18 on the agent side: the Bernoulli reward decoder for binary rewards (a sawyer-manip remedy)."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_algos_agents import GOALS, toy_buffer, toy_config  # noqa: E402

from smac_bench.algos import losses, make_agent  # noqa: E402
from smac_bench.algos.config import SMACConfig, coerce_config  # noqa: E402
from smac_bench.algos.online import Rollout  # noqa: E402
from smac_bench.data.buffer import MultiTaskBuffer, sample  # noqa: E402
from smac_bench.errors import UserError  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_bernoulli_loss_and_mean_match_their_definitions():
    logits = torch.tensor([-2.0, 0.0, 3.0])
    rewards = torch.tensor([-1.0, 0.0, 0.0])
    p = torch.sigmoid(logits)
    by_hand = -(torch.log(1 - p[0]) + torch.log(p[1]) + torch.log(p[2])) / 3
    assert float(losses.bernoulli_reward_loss(logits, rewards, -1.0, 0.0)) == pytest.approx(float(by_hand), rel=1e-6)
    assert losses.bernoulli_reward_mean(torch.tensor([-50.0, 0.0, 50.0]), -1.0, 0.0).tolist() == pytest.approx(
        [-1.0, -0.5, 0.0], abs=1e-6)


def _binary_buffer() -> MultiTaskBuffer:
    """The point tasks with a sparse reward: 0 within 0.3 of the goal, -1 elsewhere."""
    return toy_buffer(reward=lambda r: 0.0 if r > -0.9 else -1.0)


def test_bernoulli_decoder_learns_the_binary_reward_and_labels_inside_its_range():
    buffer = _binary_buffer()
    # kl_weight 0.1 collapses z on this sparse reward (KL 0.001 nats, loss at the base rate; MSE alike)
    agent = make_agent("smac", 1, 1, toy_config("smac", decoder_loss="bernoulli", kl_weight=0.001), seed=0)
    first = agent.train_offline(buffer, 1)["reward_loss"]
    agent.train_offline(buffer, 800)
    last = agent.train_offline(buffer, 200)["reward_loss"]
    rewards = np.concatenate([buffer.rewards[i, :n, 0].numpy() for i, n in enumerate(buffer.sizes.tolist())])
    base = float((rewards == 0).mean())
    entropy = -(base * math.log(base) + (1 - base) * math.log(1 - base))
    assert last < 0.95 * entropy < first  # better than the base rate: it reads the state and z
    rng = np.random.default_rng(0)
    obs = rng.uniform(-2, 2, (50, 1)).astype(np.float32)
    rollout = Rollout(task_ids=np.zeros(50, int), obs=obs, actions=rng.uniform(-1, 1, (50, 1)).astype(np.float32),
                      next_obs=obs, terminals=np.zeros(50, np.float32), true_rewards=np.zeros(50, np.float32),
                      label_z=rng.normal(size=(50, agent.config.latent_dim)).astype(np.float32),
                      episode_ids=np.zeros(50, np.int64))
    labels = agent.label_rewards(rollout)
    assert labels.min() >= -1.0 and labels.max() <= 0.0 and labels.std() > 0.01


def test_bad_decoder_settings_are_user_errors():
    with pytest.raises(UserError, match="decoder_loss must be mse or bernoulli"):
        coerce_config(dataclasses.replace(SMACConfig(), decoder_loss="huber"), SMACConfig)
    with pytest.raises(UserError, match="binary_rewards must be two different values"):
        coerce_config(dataclasses.replace(SMACConfig(), binary_rewards=(0.0, 0.0)), SMACConfig)


# ---------------------------------------------------------------------- AWAC weights from episode returns
def _two_behaviour_buffer(episodes: int = 20, seed: int = 0) -> MultiTaskBuffer:
    """Per point task, episodes from x = 0 that go to -1 or to +1 and stay there (a = -/+0.8 plus noise until
    |x| > 0.9), under the sparse reward (0 within 0.3 of the goal): half of each task's episodes reach its
    goal, half never do, as sawyer-manip's episodes pursue each sibling's aim."""
    rng = np.random.default_rng(seed)
    rows = []
    for task, goal in GOALS.items():
        for episode in range(episodes):
            x, direction = 0.0, 1.0 if episode % 2 else -1.0
            for _ in range(20):
                a = np.clip(0.8 * direction * (abs(x) < 0.9) + rng.normal(0, 0.1), -1, 1)
                nxt = float(np.clip(x + 0.25 * a, -2, 2))
                rows.append(([x], [a], [0.0 if abs(nxt - goal) < 0.3 else -1.0], [nxt], [0.0], task))
                x = nxt
    return MultiTaskBuffer.from_arrays(*[np.array(c, dtype=np.float32) for c in zip(*rows, strict=True)])


def test_buffer_keeps_each_rows_episode_return_and_samples_it_with_the_batch():
    buffer = _two_behaviour_buffer(episodes=4)
    plain = buffer.sample([0, 1], 8, torch.Generator().manual_seed(0))
    assert plain.episode_returns is None
    buffer.keep_episode_returns()
    rewards = buffer.rewards[0, :, 0].reshape(4, 20)  # 4 episodes of 20 steps, in recording order
    assert buffer.episode_returns[0, :, 0].reshape(4, 20).tolist() == \
        rewards.sum(1, keepdim=True).expand(4, 20).tolist()
    assert rewards.sum(1).tolist()[0] > -20 and rewards.sum(1).tolist()[1] == -20  # left reaches -1, right not
    batch = buffer.sample([0, 1], 8, torch.Generator().manual_seed(0))
    assert torch.equal(batch.obs, plain.obs)  # the same rows: the random stream does not change
    for t in range(2):
        for b in range(8):
            row = int(torch.nonzero((buffer.obs[t, :, 0] == batch.obs[t, b, 0])
                                    & (buffer.actions[t, :, 0] == batch.actions[t, b, 0]))[0])
            assert batch.episode_returns[t, b, 0] == buffer.episode_returns[t, row, 0]
    assert batch.flatten().episode_returns.shape == (16, 1)
    online = MultiTaskBuffer([0, 1], 10, 1, 1)
    online.add(0, *(np.zeros((2, 1)) for _ in range(5)))
    online.add(1, *(np.zeros((2, 1)) for _ in range(5)))
    assert sample([buffer, online], torch.tensor([0, 1]), 4).episode_returns is None  # online rows have none
    with pytest.raises(ValueError, match="episode_returns must be given exactly when the buffer keeps them"):
        buffer.add(0, *(np.zeros((1, 1)) for _ in range(5)))


def test_episode_return_weights_whiten_within_each_task():
    returns = torch.tensor([[-200.0, -200.0, -50.0, -50.0], [-80.0, -80.0, -80.0, -80.0]])[..., None]
    w = losses.episode_return_weights(returns, 1.0).reshape(2, 4)
    assert w[1].tolist() == pytest.approx([1.0] * 4)  # one return in the task: no preference
    assert w[0, 2] / w[0, 0] == pytest.approx(math.exp(2 / math.sqrt(4 / 3)), rel=1e-5)  # whitened gap / beta
    assert torch.allclose(losses.episode_return_weights(returns * 10, 1.0), w.reshape(-1))  # scale-free
    sharper = losses.episode_return_weights(returns, 0.5).reshape(2, 4)
    assert sharper[0, 2] / sharper[0, 0] == pytest.approx(float(w[0, 2] / w[0, 0]) ** 2, rel=1e-5)


def test_per_task_episode_return_weights_give_every_task_the_same_total():
    # task 0: one success among four rows whitens to a large weight; task 1: two of four
    returns = torch.tensor([[-200.0, -200.0, -200.0, -50.0], [-200.0, -200.0, -50.0, -50.0]])[..., None]
    plain = losses.episode_return_weights(returns, 0.3).reshape(2, 4)
    assert plain[0].sum() > 3 * plain[1].sum()  # the rare success outweighs the other task
    even = losses.episode_return_weights(returns, 0.3, per_task=True).reshape(2, 4)
    assert even.sum(1).tolist() == pytest.approx([4.0, 4.0])
    torch.testing.assert_close(even / even.sum(1, keepdim=True), plain / plain.sum(1, keepdim=True))  # same ranking


def test_episode_return_weighting_clones_the_behaviour_that_reaches_each_tasks_goal():
    buffer = _two_behaviour_buffer()
    over = dict(decoder_loss="bernoulli", kl_weight=0.001, awac_whiten=True)
    means = {}
    for advantage in ("episode_return", "critic"):
        agent = make_agent("smac", 1, 1, toy_config("smac", awac_advantage=advantage, **over), seed=0)
        agent.train_offline(buffer, 800)
        for task in GOALS:
            z = agent.infer_posterior(buffer.sample_context([task], 64, torch.Generator().manual_seed(1))).mean
            means[advantage, task] = float(agent.act(np.zeros((1, 1), np.float32), z, deterministic=True)[0, 0])
    # at x = 0 it heads for the task's goal (the critic, after as many updates, hardly tells the two apart)
    assert means["episode_return", 0] < -0.2 and means["episode_return", 1] > 0.2
    assert abs(means["critic", 0] - means["critic", 1]) < abs(means["episode_return", 0] - means["episode_return", 1])


def test_family_settings_change_smac_and_the_oracle_on_sawyer_only():
    from smac_bench.algos import agent_config
    from smac_bench.algos.config import FAMILY_SETTINGS

    for algo in ("smac", "oracle"):
        sawyer = agent_config(algo, "standard", "sawyer-manip")
        assert {k: getattr(sawyer, k) for k in FAMILY_SETTINGS["sawyer-manip"]} == FAMILY_SETTINGS["sawyer-manip"]
        for family in ("cheetah-vel", "ant-dir", None):
            assert agent_config(algo, "standard", family) == agent_config(algo, "standard")
    assert agent_config("offline-pearl", "standard", "sawyer-manip") == agent_config("offline-pearl", "standard")
    with pytest.raises(UserError, match="awac_advantage must be critic or episode_return"):
        coerce_config(dataclasses.replace(SMACConfig(), awac_advantage="td"), SMACConfig)


def test_action_gaussian_likelihood_is_a_gaussian_around_tanh_mean_that_bounds_do_not_distort():
    actions = torch.tensor([[0.3, 1.0], [-1.0, -0.2]])
    mean, log_std = torch.tensor([[0.1, 2.0], [-0.5, 0.0]]), torch.tensor([[-1.0, -2.0], [0.0, -1.5]])
    expected = torch.distributions.Normal(torch.tanh(mean), log_std.exp()).log_prob(actions).sum(-1)
    assert torch.allclose(losses.action_gaussian_log_prob(actions, mean, log_std), expected)
    # an action at the bound: the tanh-Gaussian reads it as atanh(0.999999) = 7.25, far from any mean
    tanh_ll = losses.tanh_gaussian_log_prob(losses.atanh_clipped(torch.tensor([[1.0]])), torch.zeros(1, 1),
                                            torch.zeros(1, 1))
    action_ll = losses.action_gaussian_log_prob(torch.tensor([[1.0]]), torch.zeros(1, 1), torch.zeros(1, 1))
    assert float(tanh_ll) < -10 < float(action_ll)
    with pytest.raises(UserError, match="actor_likelihood must be tanh_gaussian or action_gaussian"):
        coerce_config(dataclasses.replace(SMACConfig(), actor_likelihood="beta"), SMACConfig)


def test_the_sawyer_budget_departs_from_the_standard_schedule_and_no_other_family_does():
    from smac_bench.harness.config import FAMILY_SCHEDULES, schedule_preset
    from smac_bench.harness.launch import build_configs

    standard = schedule_preset("standard")
    sawyer = schedule_preset("standard", "sawyer-manip")
    assert sawyer.offline_updates == FAMILY_SCHEDULES["sawyer-manip", "standard"]["offline_updates"] != \
        standard.offline_updates
    assert sawyer.online_env_steps == standard.online_env_steps
    for family in ("cheetah-vel", "ant-dir"):
        assert schedule_preset("standard", family) == standard
    assert schedule_preset("quick", "sawyer-manip") == schedule_preset("quick")
    (cfg,) = build_configs("smac", "sawyer-manip", 0, None, "standard", Path("runs"), "cpu")
    assert cfg.schedule == sawyer and cfg.agent_config.awac_advantage == "episode_return"


def test_online_awac_beta_is_the_online_phases_temperature_only():
    from smac_bench.algos.halves import Handoff

    buffer = _binary_buffer()
    config = toy_config("smac", awac_whiten=True, awac_beta=0.1, online_awac_beta=1e6)
    agent = make_agent("smac", 1, 1, config, seed=0)
    flat = buffer.sample([0, 1], 32, torch.Generator().manual_seed(0)).flatten()
    z = torch.zeros(len(flat.obs), config.latent_dim)
    ess = {}
    for online in (False, True):
        q_data = Handoff()
        q_data.put(torch.linspace(-1.0, 1.0, len(flat.obs))[:, None])
        ess[online] = float(agent.actor_loss(flat, z, q_data, online)[1]["awac_ess"])
    assert ess[False] < 10 and ess[True] > 0.99 * len(flat.obs)  # sharp offline, flat online
