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
from test_algos_agents import toy_buffer, toy_config  # noqa: E402

from smac_bench.algos import losses, make_agent  # noqa: E402
from smac_bench.algos.config import SMACConfig, coerce_config  # noqa: E402
from smac_bench.algos.online import Rollout  # noqa: E402
from smac_bench.data.buffer import MultiTaskBuffer  # noqa: E402
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
                      label_z=rng.normal(size=(50, agent.config.latent_dim)).astype(np.float32))
    labels = agent.label_rewards(rollout)
    assert labels.min() >= -1.0 and labels.max() <= 0.0 and labels.std() > 0.01


def test_bad_decoder_settings_are_user_errors():
    with pytest.raises(UserError, match="decoder_loss must be mse or bernoulli"):
        coerce_config(dataclasses.replace(SMACConfig(), decoder_loss="huber"), SMACConfig)
    with pytest.raises(UserError, match="binary_rewards must be two different values"):
        coerce_config(dataclasses.replace(SMACConfig(), binary_rewards=(0.0, 0.0)), SMACConfig)
