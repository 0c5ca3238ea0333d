"""Issue #18: online episode-return weights (``online_awac_advantage="episode_return"``, a sawyer-manip remedy)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_algos_agents import PointEnv, toy_config  # noqa: E402
from test_algos_issue18 import _two_behaviour_buffer  # noqa: E402

from smac_bench.algos import OnlineSetting, make_agent  # noqa: E402
from smac_bench.algos.config import SMACConfig, coerce_config  # noqa: E402
from smac_bench.algos.online import Rollout  # noqa: E402
from smac_bench.data.buffer import MultiTaskBuffer, episode_starts, episode_totals, sample  # noqa: E402
from smac_bench.errors import UserError  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_labelled_returns_sum_each_episodes_labels():
    n = 6
    rollout = Rollout(task_ids=np.zeros(n, int), obs=np.zeros((n, 1), np.float32), actions=np.zeros((n, 1), np.float32),
                      next_obs=np.zeros((n, 1), np.float32), terminals=np.zeros((n, 1), np.float32),
                      true_rewards=np.zeros((n, 1), np.float32), label_z=np.zeros((n, 2), np.float32),
                      episode_ids=np.array([4, 4, 4, 9, 9, 2]))
    rollout.labels = np.array([[-1.0], [0.0], [-0.5], [-1.0], [-1.0], [0.25]], np.float32)
    assert rollout.labelled_returns()[:, 0].tolist() == [-1.5, -1.5, -1.5, -2.0, -2.0, 0.25]


def test_a_buffer_with_episode_returns_takes_them_with_each_row_and_keeps_them_through_its_state():
    online = MultiTaskBuffer([0, 1], 10, 1, 1, with_episode_returns=True)
    with pytest.raises(ValueError, match="episode_returns must be given exactly"):
        online.add(0, *(np.zeros((2, 1)) for _ in range(5)))
    online.add(0, *(np.zeros((3, 1)) for _ in range(5)), episode_returns=np.full((3, 1), -7.0))
    online.add(1, *(np.ones((2, 1)) for _ in range(5)), episode_returns=np.full(2, 3.0))
    copy = MultiTaskBuffer.from_state(*online.state())
    assert copy.episode_returns[0, :3, 0].tolist() == [-7.0] * 3
    assert copy.episode_returns[1, :2, 0].tolist() == [3.0] * 2
    offline = _two_behaviour_buffer(episodes=2).keep_episode_returns()
    batch = sample([offline, copy], torch.tensor([0, 1]), 64, torch.Generator().manual_seed(0))
    from_online = batch.obs[1, :, 0] == 1.0  # task 1's online rows have obs 1, its offline rows start at 0
    assert from_online.any() and (batch.episode_returns[1, from_online, 0] == 3.0).all()
    assert (batch.episode_returns[1, ~from_online, 0] <= -1.0).all()  # offline returns: sums of 0 / -1 rewards
    plain = MultiTaskBuffer([0, 1], 10, 1, 1)
    assert sample([offline, plain], torch.tensor([0]), 4).episode_returns is None


def test_the_online_phase_stores_labelled_episode_returns_and_weighs_the_actor_with_them():
    buffer = _two_behaviour_buffer(episodes=4)
    config = toy_config("smac", awac_advantage="episode_return", online_awac_advantage="episode_return",
                        awac_whiten=True, decoder_loss="bernoulli", kl_weight=0.001)
    agent = make_agent("smac", 1, 1, config, seed=0)
    agent.train_offline(buffer, 5)
    stats = agent.train_online(OnlineSetting(lambda: PointEnv(horizon=7), [0, 1], buffer), 1)
    online = agent.online_buffer
    assert online.episode_returns is not None and stats["awac_ess"] < config.online_batch_size * config.meta_batch
    for slot in range(2):
        n = int(online.sizes[slot])
        rows = (online.obs[slot, :n], online.next_obs[slot, :n], online.terminals[slot, :n])
        # episodes of 7 steps, the third of each phase cut at its budget of 20: starts every 7 rows, then at 20
        starts = episode_starts(*rows) | (torch.arange(n) % 20 == 0)
        episode, totals = episode_totals(online.rewards[slot, :n], starts)
        assert torch.allclose(online.episode_returns[slot, :n, 0].double(), totals[episode], atol=1e-5)
        assert len(totals) >= 6  # several episodes per task: the sums are per episode, not per task


def test_online_advantage_is_checked_and_needs_returns_from_the_start_of_the_online_phase():
    with pytest.raises(UserError, match="online_awac_advantage must be critic or episode_return"):
        coerce_config(SMACConfig(online_awac_advantage="td"), SMACConfig)
    buffer = _two_behaviour_buffer(episodes=2)
    agent = make_agent("smac", 1, 1, toy_config("smac"), seed=0)
    agent.train_offline(buffer, 2)
    agent.train_online(OnlineSetting(lambda: PointEnv(horizon=7), [0, 1], buffer), 1)
    agent.config = toy_config("smac", online_awac_advantage="episode_return")
    with pytest.raises(UserError, match="began without them"):
        agent.train_online(OnlineSetting(lambda: PointEnv(horizon=7), [0, 1], buffer), 1)
