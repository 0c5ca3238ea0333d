"""Task families and the locomotion envs: splits, registration, rewards, determinism."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import smac_bench
from smac_bench.envs.family import task_file_sha256

# The frozen task files: a change here means task ids changed meaning — never regenerate.
TASK_FILE_SHA256 = {
    "cheetah-vel": "649f251d375ee8b6d3835f48f1ac932ba2dd7ec010f52a3e6360e5a974fc2547",
    "ant-dir": "6b7aa4e38d7902bfab7a9101b28eb93d991734326282f9bb780cbac076558422",
    "sawyer-manip": "c220e8de030bfc471613266aefa3419479e06223c85d55b571a0e50c7b1c38bf",
}
LOCOMOTION = {"cheetah-vel": (130, 100, 30), "ant-dir": (120, 100, 20)}


@pytest.mark.parametrize("name", sorted(TASK_FILE_SHA256))
def test_task_files_are_pinned(name):
    assert task_file_sha256(name) == TASK_FILE_SHA256[name]


@pytest.mark.parametrize("name", sorted(LOCOMOTION))
def test_splits_are_disjoint_complete_and_as_specified(name):
    fam = smac_bench.task_family(name)
    total, n_train, n_test = LOCOMOTION[name]
    assert fam.num_tasks == total
    assert [t.task_id for t in fam.train] == list(range(n_train))
    assert [t.task_id for t in fam.test] == list(range(n_train, total))
    assert not set(fam.train_ids) & set(fam.test_ids)
    assert fam.max_episode_steps == 200


def test_task_parameters_lie_in_their_ranges():
    goals = [t.params["goal_velocity"] for t in smac_bench.task_family("cheetah-vel").tasks]
    assert min(goals) >= 0.0 and max(goals) <= 3.0 and np.std(goals) > 0.5
    dirs = [t.params["direction"] for t in smac_bench.task_family("ant-dir").tasks]
    assert min(dirs) >= 0.0 and max(dirs) < 2 * math.pi and np.std(dirs) > 1.0


def test_regenerating_a_family_gives_the_frozen_file():
    from smac_bench.envs import cheetah_vel

    assert cheetah_vel.generate() == smac_bench.task_family("cheetah-vel")


def test_unknown_family_and_task_are_clear_errors():
    with pytest.raises(ValueError, match="choose one of .*cheetah-vel"):
        smac_bench.task_family("cheetah-speed")
    env = smac_bench.make_env("cheetah-vel")
    with pytest.raises(ValueError, match=r"valid ids are 0\.\.129"):
        env.reset(options={"task_id": 130})
    with pytest.raises(ValueError, match="unknown task_id"):
        env.reset(options={"task_id": "3"})


@pytest.mark.parametrize("env_id", ["smac_bench/CheetahVel-v0", "smac_bench/AntDir-v1"])
def test_registered_env_passes_gymnasium_checker(env_id):
    env = gymnasium.make(env_id)
    assert env.spec.max_episode_steps == 200
    assert isinstance(env.spec.entry_point, str)  # Minari serialises the spec
    check_env(env.unwrapped, skip_render_check=True)


def _rollout(name: str, task_id: int, seed: int, steps: int = 30):
    env = smac_bench.make_env(name)
    obs, info = env.reset(seed=seed, options={"task_id": task_id})
    assert info["task_id"] == task_id
    rng = np.random.default_rng(0)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, env.action_space.shape))
        assert info["task_id"] == task_id
        trace += [obs, [reward]]
        if terminated:
            break
    return np.concatenate([np.ravel(x) for x in trace])


@pytest.mark.parametrize("name", sorted(LOCOMOTION))
def test_same_seed_and_task_give_identical_trajectories(name):
    a, b = _rollout(name, 7, seed=3), _rollout(name, 7, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _rollout(name, 7, seed=4))


def test_task_is_not_in_the_observation():
    # Same seed, different tasks: the reset observation must be identical.
    env = smac_bench.make_env("cheetah-vel")
    o1, _ = env.reset(seed=0, options={"task_id": 0})
    o2, _ = env.reset(seed=0, options={"task_id": 120})
    np.testing.assert_array_equal(o1, o2)


def test_reset_without_task_draws_training_tasks_reproducibly():
    env = smac_bench.make_env("ant-dir")
    drawn = [env.reset(seed=s)[1]["task_id"] for s in range(40)]
    assert all(t < 100 for t in drawn) and len(set(drawn)) > 10
    assert drawn == [env.reset(seed=s)[1]["task_id"] for s in range(40)]


def test_cheetah_reward_matches_formula_from_simulator_state():
    env = smac_bench.make_env("cheetah-vel")
    base = env.unwrapped
    env.reset(seed=1, options={"task_id": 104})
    goal = base.task.params["goal_velocity"]
    rng = np.random.default_rng(1)
    for _ in range(20):
        action = rng.uniform(-1, 1, 6)
        x_before = base.data.qpos[0]
        _, reward, terminated, _, _ = env.step(action)
        v_x = (base.data.qpos[0] - x_before) / base.dt
        assert reward == pytest.approx(-abs(v_x - goal) - 0.05 * np.sum(action**2), abs=1e-12)
        assert not terminated


def test_ant_reward_and_termination_match_formula_from_simulator_state():
    env = smac_bench.make_env("ant-dir")
    base = env.unwrapped
    env.reset(seed=2, options={"task_id": 110})
    theta = base.task.params["direction"]
    rng = np.random.default_rng(2)
    for _ in range(50):
        action = rng.uniform(-1, 1, 8)
        xy_before = base.data.body(1).xpos[:2].copy()
        _, reward, terminated, _, _ = env.step(action)
        v_xy = (base.data.body(1).xpos[:2] - xy_before) / base.dt
        height = base.data.qpos[2]
        healthy = 0.2 <= height <= 1.0
        contact = 5e-4 * np.sum(np.clip(base.data.cfrc_ext, -1, 1) ** 2)
        expected = v_xy @ [math.cos(theta), math.sin(theta)] - 0.5 * np.sum(action**2) - contact + healthy
        assert reward == pytest.approx(expected, abs=1e-10)
        assert terminated == (not healthy)
        if terminated:
            break


def test_ant_terminates_when_torso_leaves_height_range():
    env = smac_bench.make_env("ant-dir")
    env.reset(seed=0, options={"task_id": 0})
    base = env.unwrapped
    qpos, qvel = base.data.qpos.copy(), base.data.qvel.copy()
    qpos[2] = 1.5  # lifted above the healthy range
    base.set_state(qpos, qvel)
    _, _, terminated, _, _ = env.step(np.zeros(8))
    assert terminated


def test_ant_dir_v1_observation_is_pearls_27_numbers():
    env = gymnasium.make("smac_bench/AntDir-v1")
    assert env.spec.max_episode_steps == 200 and isinstance(env.spec.entry_point, str)
    obs, _ = env.reset(seed=0, options={"task_id": 3})
    base = env.unwrapped
    assert obs.shape == env.observation_space.shape == (27,)
    np.testing.assert_allclose(obs, np.concatenate([base.data.qpos[2:], base.data.qvel]), atol=1e-12)
    check_env(base, skip_render_check=True)


def test_ant_quarter_turn_is_an_exact_symmetry():
    """A quarter-turned copy stepped with turned actions stays the turned original, bit for bit."""
    import mujoco

    from smac_bench.envs.ant_dir import turn_action, turn_observation

    env, twin = smac_bench.make_env("ant-dir"), smac_bench.make_env("ant-dir")
    env.reset(seed=3, options={"task_id": 5})
    twin.reset(seed=0, options={"task_id": 5})
    rng = np.random.default_rng(3)
    for _ in range(15):
        env.step(rng.uniform(-1, 1, 8))
    data = env.unwrapped.data
    mujoco.mj_forward(env.unwrapped.model, data)  # body positions of the current qpos, as set_state leaves the twin's
    turned = turn_observation(np.concatenate([data.qpos[2:], data.qvel]), turns=1)
    twin.unwrapped.set_state(np.concatenate([[-data.qpos[1], data.qpos[0]], turned[:13]]), turned[13:])
    for _ in range(60):
        a = rng.uniform(-1, 1, 8)
        obs, _, term, _, info = env.step(a)
        twin_obs, _, twin_term, _, twin_info = twin.step(turn_action(a))
        np.testing.assert_allclose(twin_obs, turn_observation(obs), atol=1e-9)
        assert (twin_info["x_velocity"], twin_info["y_velocity"]) == pytest.approx(
            (-info["y_velocity"], info["x_velocity"]), abs=1e-9)
        assert twin_info["reward_ctrl"] == pytest.approx(info["reward_ctrl"], abs=1e-12) and twin_term == term
    assert np.abs(turn_observation(obs) - obs).max() > 0.1  # the test compares something that moved
    for k in range(-3, 5):  # four quarter turns are no turn; -k undoes k
        np.testing.assert_array_equal(turn_observation(turn_observation(obs, k), -k), obs)
        np.testing.assert_array_equal(turn_action(turn_action(a, k), -k), a)
    np.testing.assert_array_equal(turn_observation(obs, 4), obs)


def test_ant_dir_v1_task_is_not_in_the_observation():
    env = gymnasium.make("smac_bench/AntDir-v1")
    o1, _ = env.reset(seed=0, options={"task_id": 0})
    o2, _ = env.reset(seed=0, options={"task_id": 110})
    np.testing.assert_array_equal(o1, o2)
    a = np.full(8, 0.3)
    np.testing.assert_array_equal(env.reset(seed=0, options={"task_id": 0}) and env.step(a)[0],
                                  env.reset(seed=0, options={"task_id": 110}) and env.step(a)[0])


def test_import_leaves_opengl_alone():
    """Importing the package and stepping an env pick no OpenGL backend (a missing one broke the import)."""
    import subprocess
    import sys

    code = ("import os, smac_bench; env = smac_bench.make_env('cheetah-vel'); env.reset(seed=0); "
            "env.step(env.action_space.sample()); print(os.environ.get('MUJOCO_GL'))")
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("MUJOCO_GL", "DISPLAY")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"


def test_render_without_backend_says_what_to_install(monkeypatch):
    from smac_bench.envs import render
    from smac_bench.envs.sawyer.env import SawyerManipV1Env

    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(render, "_probe", lambda backend: False)
    render.gl_backend.cache_clear()
    env = SawyerManipV1Env(render_mode="rgb_array", width=16, height=16)
    env.reset(options={"task_id": 0})
    try:
        with pytest.raises(render.RenderingUnavailable, match="apt-get install libosmesa6"):
            env.render()
        monkeypatch.setenv("MUJOCO_GL", "egl")
        render.gl_backend.cache_clear()
        with pytest.raises(render.RenderingUnavailable, match="MUJOCO_GL=egl does not load"):
            env.render()
    finally:
        render.gl_backend.cache_clear()
        env.close()
