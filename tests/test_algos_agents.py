"""SMAC, the oracle and offline PEARL end to end on a tiny two-task problem (and one real env).

The toy: a 1-D point on ``[-2, 2]`` moved by ``0.25 * a``; task 0 rewards ``-3 |x - (-1)|``, task 1
``-3 |x - 1|``. The offline data are uniformly random actions from random starts, so only the
reward tells the tasks apart: the encoder must read it from context for the policy to succeed.
"""

from __future__ import annotations

import dataclasses
import json

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces

from smac_bench.algos import OnlineSetting, agent_config, make_agent
from smac_bench.data.buffer import MultiTaskBuffer
from smac_bench.errors import UserError

GOALS = {0: -1.0, 1: 1.0}


class PointEnv(gymnasium.Env):
    observation_space = spaces.Box(-2.0, 2.0, (1,), np.float32)
    action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, horizon: int = 20) -> None:
        self.horizon = horizon

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        options = options or {}
        self.goal = GOALS[options.get("task_id", 0)]
        self.x = float(self.np_random.uniform(-1.5, 1.5)) if options.get("spread") else 0.0
        self.t = 0
        return np.array([self.x], np.float32), {}

    def step(self, action):
        self.x = float(np.clip(self.x + 0.25 * float(np.clip(action[0], -1, 1)), -2, 2))
        self.t += 1
        return np.array([self.x], np.float32), -3.0 * abs(self.x - self.goal), False, self.t >= self.horizon, {}


def toy_buffer(episodes: int = 50, seed: int = 0, reward=lambda r: r) -> MultiTaskBuffer:
    """Random-action episodes of every point task; ``reward`` maps the env's reward to the stored one."""
    rng = np.random.default_rng(seed)
    rows = []
    env = PointEnv()
    for k in GOALS:
        for _ in range(episodes):
            obs, _ = env.reset(seed=int(rng.integers(2**31)), options={"task_id": k, "spread": True})
            done = False
            while not done:
                a = rng.uniform(-1, 1, 1).astype(np.float32)
                nxt, r, term, trunc, _ = env.step(a)
                rows.append((obs, a, [reward(r)], nxt, [float(term)], k))
                obs, done = nxt, term or trunc
    return MultiTaskBuffer.from_arrays(*[np.array(c) for c in zip(*rows, strict=True)])


def toy_config(algo: str, **over):
    cfg = agent_config(algo, "smoke")
    fast = dict(context_lr=1e-3, policy_lr=1e-3, critic_lr=1e-3)
    if algo != "offline-pearl":
        fast["awac_beta"] = 1.0  # toy advantages are a few units; beta=100 would be plain behaviour cloning
    return dataclasses.replace(cfg, **{**fast, **over})


def adapted_returns(agent, buffer: MultiTaskBuffer) -> list[float]:
    """Return per task of the deterministic policy with z = posterior mean of offline context."""
    out = []
    for k in GOALS:
        z = agent.infer_posterior(buffer.sample_context([k], 64, torch.Generator().manual_seed(7))).mean
        env, total, done = PointEnv(), 0.0, False
        obs, _ = env.reset(seed=0, options={"task_id": k})
        while not done:
            obs, r, term, trunc, _ = env.step(agent.act(obs[None], z, deterministic=True)[0])
            total, done = total + r, term or trunc
        out.append(total)
    return out


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def buffer() -> MultiTaskBuffer:
    return toy_buffer()


def setting(buffer: MultiTaskBuffer) -> OnlineSetting:
    return OnlineSetting(make_env=PointEnv, task_ids=[0, 1], offline=buffer)


def test_smac_posterior_separates_tasks_and_return_rises(buffer) -> None:
    torch.set_num_threads(1)
    agent = make_agent("smac", 1, 1, toy_config("smac"), seed=0)
    before = adapted_returns(agent, buffer)
    agent.train_offline(buffer, 1500)
    after = adapted_returns(agent, buffer)
    post = [agent.infer_posterior(buffer.sample_context([k], 64, torch.Generator().manual_seed(1))) for k in GOALS]
    gap = (post[0].mean - post[1].mean).norm()
    spread = max(p.stddev.max() for p in post)
    assert gap > 4 * spread, (gap, spread)
    assert sum(after) > sum(before) + 40, (before, after)  # random-ish policy: about -120 in total


def _stored_rewards_in_add_order(agent) -> tuple[np.ndarray, np.ndarray]:
    """Online-buffer rewards, and the rollouts' labels regrouped in the buffer's per-task order."""
    buf = agent.online_buffer
    stored, expected = [], []
    for k in buf.task_ids:
        slot = buf.slot(k)
        stored.append(buf.rewards[slot, : int(buf.sizes[slot])].numpy())
        expected.append(np.concatenate([r.labels[r.task_ids == k] for r in agent.last_rollouts]))
    return np.concatenate(stored), np.concatenate(expected)


def test_online_phases_collect_exactly_their_budget_when_episodes_end_early(buffer) -> None:
    """Episodes of 7 steps against phase budgets of 20: the third episode of each phase is cut at 20."""
    agent = make_agent("smac", 1, 1, toy_config("smac"), seed=3)
    agent.train_offline(buffer, 5)
    stats = agent.train_online(OnlineSetting(lambda: PointEnv(horizon=7), [0, 1], buffer), 1)
    assert stats["env_steps"] == 80 == agent.online_steps_per_iteration and len(agent.online_buffer) == 80
    assert stats["episodes"] == 2 * 2 * 2  # completed episodes: two of 7 steps per phase and env
    assert all(r.terminals.sum() == 0 for r in agent.last_rollouts)  # a cut is not a termination


def test_smac_online_buffer_holds_decoder_labels_only(buffer) -> None:
    agent = make_agent("smac", 1, 1, toy_config("smac"), seed=3)
    agent.train_offline(buffer, 30)
    stats = agent.train_online(setting(buffer), 1)  # one iteration: 2 envs x (20 prior + 20 posterior) steps
    assert stats["env_steps"] == 80 == agent.online_steps_per_iteration and len(agent.online_buffer) == 80
    stored, labels = _stored_rewards_in_add_order(agent)
    np.testing.assert_array_equal(stored, labels)
    with torch.no_grad():  # every label is r_hat(s, a, z_label) of the frozen decoder
        for r in agent.last_rollouts:
            decoded = agent.decoder(*(torch.as_tensor(x) for x in (r.obs, r.actions, r.label_z))).numpy()
            np.testing.assert_allclose(r.labels, decoded, rtol=1e-6, atol=1e-6)
            assert not np.allclose(r.labels, r.true_rewards, atol=1e-2)  # the env's reward did not leak in
    assert stats["label_abs_error"] > 0


def test_oracle_online_buffer_holds_true_rewards(buffer) -> None:
    agent = make_agent("oracle", 1, 1, toy_config("oracle"), seed=3)
    agent.train_offline(buffer, 30)
    stats = agent.train_online(setting(buffer), 1)
    stored, labels = _stored_rewards_in_add_order(agent)
    true = np.concatenate([np.concatenate([r.true_rewards[r.task_ids == k] for r in agent.last_rollouts])
                           for k in agent.online_buffer.task_ids])
    np.testing.assert_array_equal(stored, true)
    np.testing.assert_array_equal(labels, true)
    assert stats["label_abs_error"] == 0


def test_encoder_and_decoder_frozen_online(buffer) -> None:
    agent = make_agent("smac", 1, 1, toy_config("smac"), seed=4)
    agent.train_offline(buffer, 10)
    frozen = {k: v.clone() for m in (agent.encoder, agent.decoder) for k, v in m.state_dict().items()}
    policy_before = [p.clone() for p in agent.policy.parameters()]
    agent.train_online(setting(buffer), 1)
    after = {k: v for m in (agent.encoder, agent.decoder) for k, v in m.state_dict().items()}
    assert all(torch.equal(frozen[k], after[k]) for k in frozen)
    assert any(not torch.equal(a, b) for a, b in zip(policy_before, agent.policy.parameters(), strict=True))


def test_offline_pearl_trains_offline_only(buffer) -> None:
    agent = make_agent("offline-pearl", 1, 1, toy_config("offline-pearl"), seed=0)
    enc_before = [p.clone() for p in agent.encoder.parameters()]
    stats = agent.train_offline(buffer, 20)
    assert np.isfinite(list(stats.values())).all()
    assert any(not torch.equal(a, b) for a, b in zip(enc_before, agent.encoder.parameters(), strict=True))
    assert agent.train_online(setting(buffer), 100) == {} and agent.online_buffer is None


@pytest.mark.parametrize("algo", ["smac", "offline-pearl"])
def test_same_seed_same_numbers(buffer, algo) -> None:
    runs = []
    for seed in (5, 5, 6):
        agent = make_agent(algo, 1, 1, toy_config(algo), seed=seed)
        stats = agent.train_offline(buffer, 15)
        if algo == "smac":
            stats.update({f"on_{k}": v for k, v in agent.train_online(setting(buffer), 1).items()})
        runs.append(stats)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


@pytest.mark.parametrize("algo", ["smac", "oracle"])
def test_halves_on_two_threads_give_the_serial_numbers(buffer, algo) -> None:
    runs = []
    for halves in (False, True):
        agent = make_agent(algo, 1, 1, toy_config(algo), seed=4)
        agent.use_halves(halves)
        stats = [agent.train_offline(buffer, 15), agent.train_online(setting(buffer), 1)]
        runs.append((stats, {k: v.clone() for m in agent.modules().values() for k, v in m.state_dict().items()}))
        agent.use_halves(False)
    (serial_stats, serial_weights), (halves_stats, halves_weights) = runs
    assert halves_stats == serial_stats
    assert all(torch.equal(serial_weights[k], halves_weights[k]) for k in serial_weights)


def test_a_failing_half_raises_instead_of_hanging(buffer, monkeypatch) -> None:
    agent = make_agent("smac", 1, 1, toy_config("smac"), seed=0)
    agent.use_halves()

    def broken_target(*args, **kwargs):
        raise RuntimeError("target failed")

    monkeypatch.setattr(agent, "bellman_target", broken_target)  # the critic half waits for the target
    with pytest.raises(RuntimeError, match="target failed"):
        agent.train_offline(buffer, 1)
    monkeypatch.undo()
    monkeypatch.setattr(agent.critic, "forward", broken_target)  # the actor half waits for Q(s, a)
    with pytest.raises(RuntimeError, match="target failed"):
        agent.train_offline(buffer, 1)
    monkeypatch.undo()
    agent.train_offline(buffer, 2)  # the helper thread survives failed updates
    agent.use_halves(False)


def test_resume_reproduces_uninterrupted_run(buffer, tmp_path) -> None:
    def fresh():
        return make_agent("smac", 1, 1, toy_config("smac"), seed=11)

    straight = fresh()
    straight.train_offline(buffer, 20)
    straight.train_online(setting(buffer), 1)
    expected = [straight.train_online(setting(buffer), 1), straight.train_offline(buffer, 10)]

    first = fresh()
    first.train_offline(buffer, 20)
    first.train_online(setting(buffer), 1)
    first.save(tmp_path / "ckpt")
    assert not any(p.suffix == ".pkl" for p in (tmp_path / "ckpt").iterdir())
    json.loads((tmp_path / "ckpt" / "state.json").read_text())
    resumed = fresh()
    resumed.load(tmp_path / "ckpt")
    got = [resumed.train_online(setting(buffer), 1), resumed.train_offline(buffer, 10)]
    assert got == expected
    for a, b in zip(straight.modules().values(), resumed.modules().values(), strict=True):
        for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            assert ka == kb and torch.equal(va, vb)
    obs = np.zeros((3, 1), np.float32)
    z = torch.zeros(3, 2)
    np.testing.assert_array_equal(straight.act(obs, z), resumed.act(obs, z))


def test_load_rejects_mismatch_and_corruption(buffer, tmp_path) -> None:
    agent = make_agent("smac", 1, 1, toy_config("smac"), seed=0)
    agent.save(tmp_path / "a")
    other = make_agent("smac", 1, 1, toy_config("smac", latent_dim=3), seed=0)
    with pytest.raises(UserError, match="config"):
        other.load(tmp_path / "a")
    with pytest.raises(UserError, match="agent"):
        make_agent("oracle", 1, 1, toy_config("oracle"), seed=0).load(tmp_path / "a")
    weights = tmp_path / "a" / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(UserError, match="does not match"):
        agent.load(tmp_path / "a")


def test_registry_presets_and_interface() -> None:
    for algo in ("smac", "oracle", "offline-pearl"):
        paper = agent_config(algo, "paper")
        assert (paper.latent_dim, paper.encoder_hidden, paper.critic_hidden) == (5, (200, 200, 200), (300, 300, 300))
        assert (paper.kl_weight, paper.tau, paper.gamma, paper.reward_scale, paper.policy_lr) == (
            0.1, 0.005, 0.99, 5.0, 3e-4)
        assert agent_config(algo, "smoke").critic_hidden != paper.critic_hidden
    smac = agent_config("smac", "paper")
    assert (smac.awac_beta, smac.decoder_hidden, smac.meta_batch, smac.batch_size, smac.context_size) == (
        100.0, (64, 64), 4, 128, 64)
    with pytest.raises(UserError, match="unknown algo 'nope'"):
        agent_config("nope")
    with pytest.raises(UserError, match="unknown preset 'huge'"):
        agent_config("smac", "huge")
    agent = make_agent("smac", 3, 2, {"latent_dim": 2, "critic_hidden": [8], "policy_hidden": [8]}, seed=0)
    assert agent.infer_posterior(torch.zeros(4, 0, 6)).batch_shape == (4, 2)
    assert agent.infer_posterior(torch.zeros(4, 5, 6)).batch_shape == (4, 2)
    actions = agent.act(np.zeros((4, 3)), agent.prior(4).sample())
    assert actions.shape == (4, 2) and np.abs(actions).max() <= 1
    with pytest.raises(ValueError, match="obs"):
        agent.act(np.zeros((4, 5)), torch.zeros(4, 2))
    with pytest.raises(UserError, match="unknown"):
        make_agent("smac", 3, 2, {"latnet_dim": 2}, seed=0)


def test_smac_online_on_cheetah_vel() -> None:
    import smac_bench

    family = smac_bench.task_family("cheetah-vel")
    rng = np.random.default_rng(0)
    tasks = list(family.train_ids[:2])
    n = 200
    buf = MultiTaskBuffer.from_arrays(
        rng.normal(size=(2 * n, 17)), rng.uniform(-1, 1, (2 * n, 6)), rng.normal(size=(2 * n, 1)),
        rng.normal(size=(2 * n, 17)), np.zeros((2 * n, 1)), np.repeat(tasks, n))
    agent = make_agent("smac", 17, 6, agent_config("smac", "smoke"), seed=0)
    agent.train_offline(buf, 5)
    stats = agent.train_online(OnlineSetting(lambda: smac_bench.make_env("cheetah-vel"), tasks, buf), 1)
    assert stats["env_steps"] == 2 * (20 + 20)  # smoke budgets; the 200-step episodes are cut there
    assert len(agent.online_buffer) == 80


def test_agents_name_the_buffers_their_batches_and_contexts_come_from(buffer) -> None:
    from smac_bench.algos.smac import SMACAgent

    class SeparateEncoderData(SMACAgent):  # the encoder reads its own buffer, the RL batches never do
        context_sources = ("encoder",)

    encoder_data = MultiTaskBuffer(buffer.task_ids, 10, 1, 1)
    for k in buffer.task_ids:
        encoder_data.add(k, np.zeros((10, 1)), np.zeros((10, 1)), np.full(10, 99.0), np.zeros((10, 1)), np.zeros(10))
    agent = SeparateEncoderData(1, 1, toy_config("smac"), seed=0)
    batch, context = agent.sample_meta_batch({"offline": buffer, "encoder": encoder_data}, 32)
    assert bool((context[..., -1] == 99.0).all()) and not bool((batch.rewards == 99.0).any())
