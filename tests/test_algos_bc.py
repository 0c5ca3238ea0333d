"""Behaviour-cloning bounds (issue #18 item 4): ``bc`` and ``bc-task`` behind the Agent interface and protocol."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import gymnasium
import numpy as np
import pandas as pd
import pytest
import torch

from smac_bench.algos import agent_config, make_agent
from smac_bench.algos.bc import top_episode_rows
from smac_bench.data.buffer import MultiTaskBuffer, episode_starts
from smac_bench.envs import task_family
from smac_bench.errors import UserError
from smac_bench.harness.config import RunConfig, Schedule
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import evaluate_tasks
from smac_bench.harness.restore import restore
from smac_bench.harness.results import EPISODES_FILE
from smac_bench.harness.run import TaskSetup, family_setup, run_experiment

OBS_DIM, ACT_DIM = 3, 2
TARGET = {0: 0.5, 1: -0.5, 2: 0.5, 3: -0.5}
"""Toy tasks: the expert's action (every dimension) depends on the task only; 2 and 3 are held out."""
FEATURES = {0: [1.0], 1: [-1.0], 2: [1.0], 3: [-1.0]}


def _toy_buffer(steps: int = 128, seed: int = 0) -> MultiTaskBuffer:
    """Relabelled siblings, as in Sawyer's data: tasks 0 and 1 hold the same two episodes (one random walk of
    observations; one episode acts +0.5 throughout, the other -0.5), each rewarded for its own task's action."""
    walk = 0.1 * np.cumsum(np.random.default_rng(seed).normal(size=(steps + 1, OBS_DIM)), 0)
    episodes = [(walk[:-1], np.full((steps, ACT_DIM), target), walk[1:]) for target in (TARGET[0], TARGET[1])]
    parts = [(obs, act, -np.abs(act - TARGET[task]).sum(1, keepdims=True), nxt, np.full(steps, task))
             for task in (0, 1) for obs, act, nxt in episodes]
    obs, actions, rewards, next_obs, ids = (np.concatenate(column) for column in zip(*parts, strict=True))
    return MultiTaskBuffer.from_arrays(obs, actions, rewards, next_obs, np.zeros((len(ids), 1)), ids)


def _agent(name: str, seed: int = 0, features=FEATURES):
    agent = make_agent(name, OBS_DIM, ACT_DIM, agent_config(name, "smoke"), seed=seed)
    if agent.told_task:
        agent.tell_tasks(features)
    return agent


def _z(agent, task_ids):
    return agent.task_latents(task_ids) if agent.told_task else torch.zeros(len(task_ids), 0)


@pytest.mark.parametrize("name", ["bc", "bc-task"])
def test_the_loss_falls_on_actions_that_depend_on_the_state(name):
    rng = np.random.default_rng(3)
    ids = np.repeat([0, 1], 256)
    obs = rng.normal(size=(len(ids), OBS_DIM))
    actions = np.tanh(obs @ rng.normal(size=(OBS_DIM, ACT_DIM)))
    zeros = np.zeros((len(ids), 1))
    buffer = MultiTaskBuffer.from_arrays(obs, actions, zeros, obs, zeros, ids)
    agent = _agent(name)
    first = agent.train_offline(buffer, 10)["bc_loss"]
    agent.train_offline(buffer, 300)
    assert agent.train_offline(buffer, 10)["bc_loss"] < first / 5


def test_told_the_task_bc_reproduces_each_tasks_action_and_context_free_bc_cannot():
    """The property that makes them bounds: only the task (and its rewards) tell the two experts apart."""
    buffer, obs = _toy_buffer(), np.random.default_rng(1).normal(size=(2, OBS_DIM)).astype(np.float32)
    told, blind = _agent("bc-task"), _agent("bc")
    told.train_offline(buffer, 400)
    blind.train_offline(buffer, 400)
    told_actions = told.act(obs, _z(told, [0, 1]), deterministic=True)
    np.testing.assert_allclose(told_actions[0], TARGET[0], atol=0.1)
    np.testing.assert_allclose(told_actions[1], TARGET[1], atol=0.1)
    blind_actions = blind.act(obs, _z(blind, [0, 1]), deterministic=True)
    assert np.abs(blind_actions - 0.5).min() > 0.3 and np.abs(blind_actions + 0.5).min() > 0.3


def test_on_relabelled_siblings_the_task_is_worth_nothing_without_keeping_its_best_episodes():
    """Both tasks hold the same (s, a): cloning all of it gives one mixture, told the task or not."""
    config = dataclasses.replace(agent_config("bc-task", "smoke"), top_fraction=1.0)
    told_everything = make_agent("bc-task", OBS_DIM, ACT_DIM, config, seed=0)
    told_everything.tell_tasks(FEATURES)
    told_everything.train_offline(_toy_buffer(), 400)
    obs = np.zeros((2, OBS_DIM), np.float32)
    actions = told_everything.act(obs, _z(told_everything, [0, 1]), deterministic=True)
    assert np.abs(actions).max() < 0.2


def test_episodes_are_recovered_from_the_buffer_and_ranked_by_the_tasks_return():
    buffer = _toy_buffer(steps=5)
    slot = buffer.slot(1)
    starts = episode_starts(buffer.obs[slot], buffer.next_obs[slot], buffer.terminals[slot])
    assert starts.tolist() == [True] + [False] * 4 + [True] + [False] * 4
    assert top_episode_rows(buffer.rewards[slot], starts, 0.5).tolist() == [5, 6, 7, 8, 9]  # task 1: the -0.5 one
    assert top_episode_rows(buffer.rewards[buffer.slot(0)], starts, 0.5).tolist() == [0, 1, 2, 3, 4]
    assert top_episode_rows(buffer.rewards[slot], starts, 1.0).tolist() == list(range(10))
    terminal = starts.clone()
    terminal[2] = True  # a terminal row ends its episode even if the next observation continues the chain
    buffer.terminals[slot, 1] = 1.0
    assert episode_starts(buffer.obs[slot], buffer.next_obs[slot], buffer.terminals[slot]).tolist() == \
        terminal.tolist()


@pytest.mark.parametrize("name", ["bc", "bc-task"])
def test_save_load_round_trip_gives_identical_actions_and_training(name, tmp_path):
    buffer = _toy_buffer()
    agent = _agent(name)
    agent.train_offline(buffer, 20)
    agent.save(tmp_path / "agent")
    assert agent.save_policy(tmp_path / "policy")
    full = make_agent(name, OBS_DIM, ACT_DIM, agent_config(name, "smoke"), seed=0)
    full.load(tmp_path / "agent")
    policy_only = make_agent(name, OBS_DIM, ACT_DIM, agent_config(name, "smoke"), seed=0)
    policy_only.load_policy(tmp_path / "policy")  # bc-task: told its features by the checkpoint
    obs = np.random.default_rng(2).normal(size=(4, OBS_DIM)).astype(np.float32)
    ids = [0, 1, 2, 3]
    for other in (full, policy_only):
        np.testing.assert_array_equal(other.act(obs, _z(other, ids), True), agent.act(obs, _z(agent, ids), True))
    sampled = agent.act(obs, _z(agent, ids))
    np.testing.assert_array_equal(full.act(obs, _z(full, ids)), sampled)
    assert agent.train_offline(buffer, 5) == full.train_offline(buffer, 5)  # optimiser and batch stream restored
    for a, b in zip(agent.policy.parameters(), full.policy.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_checkpoint_of_other_settings_or_kind_is_refused(tmp_path):
    agent = _agent("bc-task")
    agent.save_policy(tmp_path / "policy")
    wider = make_agent("bc-task", OBS_DIM, ACT_DIM, {"policy_hidden": [64, 64]}, seed=0)
    with pytest.raises(UserError, match="checkpoint config"):
        wider.load_policy(tmp_path / "policy")
    with pytest.raises(UserError, match="'policy' checkpoint, not 'agent': load it with load_policy"):
        _agent("bc-task").load(tmp_path / "policy")


def test_only_told_agents_take_features_and_a_told_agent_needs_them():
    with pytest.raises(UserError, match="not told the task"):
        _agent("bc").tell_tasks(FEATURES)
    untold = make_agent("bc-task", OBS_DIM, ACT_DIM, agent_config("bc-task", "smoke"), seed=0)
    with pytest.raises(UserError, match="not been told the tasks"):
        untold.train_offline(_toy_buffer(), 1)
    with pytest.raises(UserError, match="one length"):
        untold.tell_tasks({0: [1.0], 1: [1.0, 2.0]})
    told = _agent("bc-task", features={0: [1.0]})
    with pytest.raises(UserError, match=r"not told the features of task\(s\) \[1\]"):
        told.train_offline(_toy_buffer(), 1)


# ---------------------------------------------------------------------- through the harness
class _TargetEnv(gymnasium.Env):
    """Reward ``-|a - target(task)|`` summed over action dims; success when every dim is within 0.1."""

    def __init__(self) -> None:
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (ACT_DIM,), np.float32)
        self.task_id, self.t = 0, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.task_id, self.t = int((options or {}).get("task_id", 0)), 0
        return self._obs(), {}

    def _obs(self) -> np.ndarray:
        return self.np_random.normal(size=OBS_DIM).astype(np.float32)

    def step(self, action):
        error = np.abs(np.asarray(action, np.float64).reshape(-1) - TARGET[self.task_id])
        self.t += 1
        return self._obs(), -float(error.sum()), False, self.t >= 200, {"success": bool((error < 0.1).all())}


def _toy_setup(features=FEATURES) -> TaskSetup:
    return TaskSetup("toy-target", _TargetEnv, (0, 1), (2, 3), None if features is None else lambda: features)


def _toy_run(algo: str, out: Path, features=FEATURES) -> RunConfig:
    schedule = Schedule(offline_updates=400, online_env_steps=0, eval_every_updates=400, eval_every_env_steps=1,
                        num_runs=2, num_exploration_trajectories=2, num_offline_tasks=2)
    cfg = RunConfig(algo=algo, env="toy-target", seed=0, preset="smoke", out=out,
                    agent_config=agent_config(algo, "smoke"), schedule=schedule)
    run_experiment(cfg, buffer=_toy_buffer(), env_spec=_toy_setup(features), torch_threads=1)
    return cfg


def test_told_task_evaluation_uses_each_rows_task_and_skips_exploration(tmp_path):
    cfg = _toy_run("bc-task", tmp_path)
    rows = pd.read_csv(cfg.run_dir / EPISODES_FILE)
    assert sorted(zip(rows["split"], rows["task_id"], rows["run"], strict=True)) == \
        [("test", k, r) for k in (2, 3) for r in (0, 1)] + [("train", k, r) for k in (0, 1) for r in (0, 1)]
    assert (rows["success"] == 1.0).all() and (rows["posterior_kl"] == 0.0).all()
    shutil.rmtree(cfg.run_dir / "checkpoints" / "offline_end" / "agent")  # a pruned run: the policy is enough
    agent = restore(cfg.run_dir, checkpoint="offline_end")
    protocol = cfg.schedule.protocol()
    pool = EnvPool(_TargetEnv)
    try:
        again = evaluate_tasks(agent, pool, [2, 3], protocol, 0, "exploration", "test")
        test_rows = rows[rows["split"] == "test"].reset_index(drop=True)
        np.testing.assert_array_equal(again["return"].to_numpy(), test_rows["return"].to_numpy())
        assert again.attrs["env_steps"] == 2 * 2 * 200  # the final episodes only: no exploration
        agent.tell_tasks({**FEATURES, 2: [-1.0], 3: [1.0]})  # swap the held-out tasks' features
        swapped = evaluate_tasks(agent, pool, [2, 3], protocol, 0, "exploration", "test")
        assert (swapped["success"] == 0.0).all() and (swapped["return"] < again["return"] - 100).all()
    finally:
        pool.close()


def test_context_free_bc_is_scored_by_the_full_protocol_and_cannot_tell_the_tasks_apart(tmp_path):
    cfg = _toy_run("bc", tmp_path)
    rows = pd.read_csv(cfg.run_dir / EPISODES_FILE)
    assert len(rows) == 8 and (rows["success"] == 0.0).all()


def test_a_told_agent_on_a_setup_without_features_fails_before_writing(tmp_path):
    with pytest.raises(UserError, match="gives no task features"):
        _toy_run("bc-task", tmp_path, features=None)
    assert not any(tmp_path.iterdir())


def test_restore_tells_the_registered_familys_features_over_the_checkpoints(tmp_path):
    """A re-evaluation (leaderboard verify) never scores a policy on features its checkpoint supplied."""
    agent = _agent("bc-task", features={k: [99.0] for k in range(130)})
    agent.save_policy(tmp_path / "policy")
    run_config = {"algo": "bc-task", "env": "cheetah-vel", "seed": 0, "preset": "smoke", "obs_dim": OBS_DIM,
                  "act_dim": ACT_DIM}
    restored = restore(tmp_path / "policy", run_config=run_config)
    goal_velocity = task_family("cheetah-vel").task(105).params["goal_velocity"]
    assert restored.task_latents([105]).item() == pytest.approx(goal_velocity)


# ---------------------------------------------------------------------- leaderboard
def test_a_bc_task_submission_validates_and_verify_reproduces_it(tmp_path):
    """Five seeds on cheetah-vel at the paper protocol (a few seconds each: no exploration), synthetic data."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from fixtures.leaderboard.build import DATASET, KW

    from smac_bench.leaderboard.submit import SubmissionInfo, build_submission
    from smac_bench.leaderboard.validate import validate_submission
    from smac_bench.leaderboard.verify import EvalRequest, harness_evaluator

    spec = family_setup("cheetah-vel")
    probe = spec.make_env()
    obs_dim, act_dim = probe.observation_space.shape[0], probe.action_space.shape[0]
    probe.close()
    rng = np.random.default_rng(0)
    ids = np.repeat(spec.train_ids, 8)
    obs, actions = rng.normal(size=(len(ids), obs_dim)), rng.uniform(-1, 1, (len(ids), act_dim))
    zeros = np.zeros((len(ids), 1))
    buffer = MultiTaskBuffer.from_arrays(obs, actions, zeros, obs, zeros, ids)
    schedule = Schedule(offline_updates=5, online_env_steps=0, eval_every_updates=5, eval_every_env_steps=1,
                        num_offline_tasks=1)
    runs = []
    for seed in range(5):
        cfg = RunConfig(algo="bc-task", env="cheetah-vel", seed=seed, preset="smoke", out=tmp_path / "runs",
                        schedule=schedule, agent_config=agent_config("bc-task", "smoke"), dataset_id=DATASET)
        run_experiment(cfg, buffer=buffer, env_spec=spec, torch_threads=1)
        runs.append(cfg.run_dir)
    dest = tmp_path / "submissions" / "2025-01-02_bc-task"
    build_submission(runs, SubmissionInfo(method="BC told the task", authors=["A. Tester"]), dest,
                     today=dt.date(2025, 1, 2), **KW)
    entry = validate_submission(dest, **KW)
    assert entry.meta["algo"] == "bc-task" and entry.scores.shape == (5, 30)
    # verify's re-evaluation, at the run's own evaluation seed: the submitted policy reproduces its rows
    request = EvalRequest(algo="bc-task", env="cheetah-vel", checkpoint_dir=dest / entry.meta["checkpoints"]["0"],
                          config=json.loads((dest / "configs" / "seed0.json").read_text()), train_seed=0,
                          eval_seed=0, protocol="v2")
    again = harness_evaluator(request)
    rows = pd.read_csv(runs[0] / EPISODES_FILE)
    test_rows = rows[rows["split"] == "test"].reset_index(drop=True)
    np.testing.assert_array_equal(again["return"].to_numpy(), test_rows["return"].to_numpy())
