"""Issue #17 on the agent side: encoder buffer apart/pooled, rlkit's online iteration shape, the
exploration rule shared with evaluation, and AWAC weight statistics / whitening."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_algos_agents import PointEnv, toy_buffer, toy_config  # noqa: E402

from smac_bench.algos import (  # noqa: E402
    OnlineSetting,
    agent_config,
    losses,  # noqa: E402
    make_agent,
)
from smac_bench.algos.config import resolve_encoder_buffer, smac_preset  # noqa: E402
from smac_bench.algos.exploration import ExplorationPolicy  # noqa: E402
from smac_bench.algos.online import family_of  # noqa: E402
from smac_bench.errors import UserError  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def buffer():
    return toy_buffer()


def _setting(buffer):
    return OnlineSetting(make_env=PointEnv, task_ids=buffer.task_ids, offline=buffer)


def test_paper_preset_has_rlkits_online_iteration():
    cfg = smac_preset("paper")
    assert (cfg.online_tasks_per_iter, cfg.online_prior_steps, cfg.online_posterior_steps) == (5, 400, 600)
    assert cfg.online_updates_per_iter * cfg.online_context_minibatches == 16_000
    assert cfg.online_context_minibatches * cfg.context_size == cfg.rollout_context_size == 256
    assert (cfg.awac_beta, cfg.awac_whiten, cfg.exploration_resample_period) == (100.0, False, 1)
    assert smac_preset("quick").online_context_minibatches == 1


def test_family_defaults_follow_the_launchers():
    import smac_bench

    assert resolve_encoder_buffer("family", "cheetah-vel") == "apart"
    assert resolve_encoder_buffer("family", "ant-dir") == "pooled"
    assert resolve_encoder_buffer("family", None) == "pooled"
    assert resolve_encoder_buffer("apart", "ant-dir") == "apart"
    assert family_of(smac_bench.make_env("cheetah-vel")) == "cheetah-vel"
    assert family_of(PointEnv()) is None
    with pytest.raises(UserError):
        make_agent("smac", 1, 1, toy_config("smac", encoder_buffer="sideways"), seed=0)


def test_apart_encoder_buffer_holds_prior_rollouts_only(buffer):
    agent = make_agent("smac", 1, 1, toy_config("smac", encoder_buffer="apart"), seed=0)
    agent.train_offline(buffer, 5)
    stats = agent.train_online(_setting(buffer), 1)
    cfg = agent.config
    prior, posterior = agent.last_rollouts
    assert stats["encoder_buffer_apart"] == 1.0
    assert len(agent.online_buffer) == len(prior.obs) + len(posterior.obs)
    assert len(agent.encoder_buffer) == len(prior.obs) == cfg.online_tasks_per_iter * cfg.online_prior_steps
    enc_obs = {float(x) for k in agent.encoder_buffer.task_ids
               for x in agent.encoder_buffer.obs[agent.encoder_buffer.slot(k), :int(agent.encoder_buffer.sizes[
                   agent.encoder_buffer.slot(k)])].reshape(-1)}
    assert enc_obs == {float(x) for x in prior.obs.reshape(-1)}


def test_pooled_keeps_no_separate_buffer_and_apart_changes_the_numbers(buffer):
    runs = {}
    for choice in ("pooled", "apart"):
        agent = make_agent("smac", 1, 1, toy_config("smac", encoder_buffer=choice), seed=0)
        agent.train_offline(buffer, 5)
        agent.train_online(_setting(buffer), 1)
        runs[choice] = agent
        assert (agent.encoder_buffer is None) == (choice == "pooled")
    assert not torch.equal(runs["pooled"].policy.net[0].weight, runs["apart"].policy.net[0].weight)


def test_exploration_contexts_come_from_online_prior_rollouts_once_a_task_has_them(buffer):
    agent = make_agent("smac", 1, 1, toy_config("smac", encoder_buffer="exploration"), seed=0)
    agent.train_offline(buffer, 5)
    stats = agent.train_online(_setting(buffer), 1)
    prior, _ = agent.last_rollouts
    assert stats["encoder_buffer_apart"] == 1.0 and len(agent.encoder_buffer) == len(prior.obs)
    sources = {"offline": buffer, "online": agent.online_buffer, "encoder": agent.encoder_buffer}
    visited = agent.encoder_buffer.slots(sorted({int(t) for t in prior.task_ids}))
    ctx = agent.sample_contexts(sources, visited, 50)
    prior_obs = {float(x) for x in prior.obs.reshape(-1)}
    assert {float(x) for x in ctx[..., 0].reshape(-1)} <= prior_obs
    offline_only = agent.sample_contexts({"offline": buffer}, visited, 50)  # the offline phase: unchanged
    assert not {float(x) for x in offline_only[..., 0].reshape(-1)} <= prior_obs


def test_apart_resume_reproduces_uninterrupted_run(buffer, tmp_path):
    cfg = toy_config("smac", encoder_buffer="apart")
    a = make_agent("smac", 1, 1, cfg, seed=2)
    a.train_offline(buffer, 5)
    a.train_online(_setting(buffer), 1)
    a.save(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "encoder_buffer.safetensors").is_file()
    b = make_agent("smac", 1, 1, cfg, seed=2)
    b.load(tmp_path / "ckpt")
    assert torch.equal(a.encoder_buffer.obs, b.encoder_buffer.obs)
    assert a.train_online(_setting(buffer), 1) == b.train_online(_setting(buffer), 1)


def test_context_minibatches_make_that_many_updates_per_train_step(buffer):
    agent = make_agent("smac", 1, 1, toy_config("smac", online_context_minibatches=4, online_updates_per_iter=3),
                       seed=0)
    agent.train_offline(buffer, 2)
    before = agent.num_updates
    agent.train_online(_setting(buffer), 1)
    assert agent.num_updates - before == 12
    # one context of 4 x context_size per train step, sliced: the slices are distinct draws of the same tasks
    pairs = agent._train_step_batches({"offline": buffer}, 8, 4)
    assert len(pairs) == 4 and all(c.shape[1] == agent.config.context_size for _, c in pairs)


@pytest.mark.parametrize("period", [1, 3, 0])
def test_online_collection_redraws_z_as_the_exploration_policy_says(buffer, period, monkeypatch):
    from smac_bench.algos import online

    agent = make_agent("smac", 1, 1, toy_config("smac", exploration_resample_period=period), seed=0)
    assert agent.exploration == ExplorationPolicy(resample_period=period)
    seen = []
    real = agent.sample_actions

    def spy(obs, z, deterministic, generator):
        seen.append(z.clone())
        return real(obs, z, deterministic, generator)

    monkeypatch.setattr(agent, "sample_actions", spy)
    env = PointEnv(horizon=10)
    online.collect(agent, [env], np.array([0]), 10, False, buffer, buffer)
    z = torch.cat(seen)[:, 0].tolist()
    changes = [t for t in range(1, 10) if z[t] != z[t - 1]]
    expected = {1: list(range(1, 10)), 3: [3, 6, 9], 0: []}[period]
    assert changes == expected


def test_weight_stats_and_whitening():
    uniform = torch.full((8,), 1 / 8)
    top, ess = losses.weight_stats(uniform)
    assert float(top) == pytest.approx(1 / 8) and float(ess) == pytest.approx(8)
    one_hot = torch.tensor([1.0, 0, 0, 0])
    assert [float(x) for x in losses.weight_stats(one_hot)] == [1.0, 1.0]
    q = torch.tensor([0.0, 1.0, 2.0, 3.0]) * 1000  # whitening ignores the scale of Q
    w = losses.awac_whitened_weights(q, torch.zeros(4), 1.0)
    w_small = losses.awac_whitened_weights(q / 1000, torch.zeros(4), 1.0)
    assert torch.allclose(w, w_small, rtol=1e-4)
    assert float(losses.weight_stats(w)[1]) < 4


def test_smac_logs_weight_statistics(buffer):
    for whiten in (False, True):
        agent = make_agent("smac", 1, 1, toy_config("smac", awac_whiten=whiten), seed=0)
        stats = agent.train_offline(buffer, 3)
        n = agent.config.meta_batch * agent.config.batch_size
        assert 1 / n - 1e-6 <= stats["awac_weight_max"] <= 1 and 1 <= stats["awac_ess"] <= n + 1e-3


def test_quick_preset_family_default_is_recorded_as_family():
    assert agent_config("smac", "quick").encoder_buffer == "family"
    assert dataclasses.replace(agent_config("smac", "smoke"), encoder_buffer="apart").encoder_buffer == "apart"


def test_standard_preset_trains_quick_agents_longer_under_the_same_protocol():
    from smac_bench.harness.config import schedule_preset

    for algo in ("smac", "oracle", "offline-pearl"):
        assert agent_config(algo, "standard") == agent_config(algo, "quick")
    standard, quick = schedule_preset("standard"), schedule_preset("quick")
    assert standard.offline_updates > quick.offline_updates
    assert standard.online_env_steps > quick.online_env_steps
    assert standard.protocol() == quick.protocol()
    # whole quick online iterations (4 tasks x 400 steps), so the last one is not cut
    shape = smac_preset("standard")
    per_iter = shape.online_tasks_per_iter * (shape.online_prior_steps + shape.online_posterior_steps)
    assert standard.online_env_steps % per_iter == 0
