"""The sawyer-manip domain: scenes, frozen split, held-out property, scripted controllers, env API."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import smac_bench  # noqa: F401  (registers the env, picks a headless GL backend)
from smac_bench.envs import FAMILIES, task_family
from smac_bench.envs.sawyer.env import OBS_DIM, SawyerManipEnv
from smac_bench.envs.sawyer.scene import OBJECT_KINDS
from smac_bench.envs.sawyer.scripted import ScriptedPolicy, scripted_action
from smac_bench.envs.sawyer.tasks import (
    AIMS,
    CELL,
    CELL_GAP,
    TEST_COMBOS,
    TRAIN_COMBOS,
    anchors,
    cell_colour,
    footprint_corners,
    rectangles_overlap,
    scene_task,
)
from smac_bench.errors import UserError

FAMILY = task_family("sawyer-manip")
SCENES = {k: scene_task(t.params) for k, t in enumerate(FAMILY.tasks)}


@pytest.fixture(scope="module")
def env() -> SawyerManipEnv:
    return SawyerManipEnv()


def _first_task(split_ids: tuple[int, ...], aim: str) -> int:
    return next(k for k in split_ids if SCENES[k].aim == aim)


def test_split_sizes_and_registration():
    assert len(FAMILY.train_ids) >= 100 and len(FAMILY.test_ids) >= 30
    env_id, horizon = FAMILIES["sawyer-manip"].env_id, FAMILIES["sawyer-manip"].horizon
    assert FAMILY.env_id == env_id and FAMILY.max_episode_steps == horizon
    env = gymnasium.make(env_id)
    assert env.spec.max_episode_steps == horizon
    assert {SCENES[k].aim for k in FAMILY.train_ids} == set(AIMS) == {SCENES[k].aim for k in FAMILY.test_ids}


def test_test_tasks_are_held_out():
    train_combos = {SCENES[k].kinds for k in FAMILY.train_ids}
    test_combos = {SCENES[k].kinds for k in FAMILY.test_ids}
    assert not train_combos & test_combos
    assert train_combos <= set(TRAIN_COMBOS) and test_combos <= set(TEST_COMBOS)
    # every anchor (object centre or goal) lies in a table cell of its split's colour
    for ids, colour in ((FAMILY.train_ids, 0), (FAMILY.test_ids, 1)):
        for k in ids:
            assert all(cell_colour(x, y) == colour for _, x, y in anchors(SCENES[k])), k
    # hence no table cell holding a training anchor holds a test anchor ...
    train_xy = np.array([(x, y) for k in FAMILY.train_ids for _, x, y in anchors(SCENES[k])])
    test_xy = np.array([(x, y) for k in FAMILY.test_ids for _, x, y in anchors(SCENES[k])])
    train_cells = {tuple(c) for c in np.floor(train_xy / CELL).astype(int).tolist()}
    test_cells = {tuple(c) for c in np.floor(test_xy / CELL).astype(int).tolist()}
    assert train_cells and test_cells and not train_cells & test_cells
    # ... and the no-man's land keeps every test anchor clear of every training anchor
    nearest = np.linalg.norm(test_xy[:, None] - train_xy[None], axis=-1).min(axis=1)
    assert nearest.min() >= 2 * CELL_GAP


def test_footprints_never_overlap():
    for k, st in SCENES.items():
        rects = [footprint_corners(kind, p.x, p.y, p.yaw) for kind, p in st.objects.items()]
        for i in range(len(rects)):
            for j in range(i):
                assert not rectangles_overlap(rects[i], rects[j]), k


def _owner(model, body: int) -> str:
    name = model.body(model.body_rootid[body]).name
    if body == 0 or name in ("tablelink", "RetainingWall"):
        return "table"
    return name.split("/")[0] if "/" in name else "arm"


def test_resets_start_without_collisions_and_with_fixed_obs_size(env):
    for k in range(FAMILY.num_tasks):
        obs, info = env.reset(options={"task_id": k})
        assert obs.shape == (OBS_DIM,) and obs.dtype == np.float64 and info["task_id"] == k
        assert not info["success"], f"task {k} starts solved"
        m, d = env.model, env.data
        for c in d.contact[:d.ncon]:
            a, b = _owner(m, m.geom_bodyid[c.geom1]), _owner(m, m.geom_bodyid[c.geom2])
            assert a == b or "table" in (a, b), f"task {k}: {a} touches {b} at reset"
        present = [bool(obs[4 + 7 * i]) for i in range(len(OBJECT_KINDS))]
        assert present == [kind in SCENES[k].objects for kind in OBJECT_KINDS]
        absent = [i for i, p in enumerate(present) if not p]
        assert all(not obs[4 + 7 * i:11 + 7 * i].any() for i in absent)


def test_check_env(env):
    check_env(env, skip_render_check=True)


def _episode(env: SawyerManipEnv, task_id: int, policy, steps: int, stop_on_success: bool = False):
    obs, _ = env.reset(seed=0, options={"task_id": task_id})
    observations, rewards, successes = [obs], [], []
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        assert not terminated and not truncated
        observations.append(obs)
        rewards.append(reward)
        successes.append(info["success"])
        if stop_on_success and info["success"]:
            break
    return np.array(observations), np.array(rewards), np.array(successes)


@pytest.mark.parametrize("aim", AIMS)
def test_scripted_controller_solves_train_and_test_tasks(env, aim):
    for split in (FAMILY.train_ids, FAMILY.test_ids):
        k = _first_task(split, aim)
        st = SCENES[k]
        _, rewards, successes = _episode(env, k, lambda o, st=st: scripted_action(o, st),
                                         FAMILY.max_episode_steps, stop_on_success=True)
        assert successes[-1], f"scripted {aim} failed on task {k}"
        assert np.array_equal(rewards, successes.astype(float) - 1.0)  # sparse reward = success - 1


def test_same_seed_and_task_give_identical_trajectories():
    k = _first_task(FAMILY.test_ids, "place_puck")
    runs = []
    for _ in range(2):
        env = SawyerManipEnv()
        runs.append(_episode(env, k, ScriptedPolicy(env.family.task(k), noise_std=0.1, seed=3), 60)[0])
    assert np.array_equal(runs[0], runs[1])
    env = SawyerManipEnv()
    first = [env.reset(seed=7)[0] for _ in range(2)]  # no task_id: a seeded training task
    assert np.array_equal(first[0], first[1]) and env.task.task_id in FAMILY.train_ids


def test_shaped_reward_and_argument_errors():
    env = SawyerManipEnv(reward_type="shaped")
    k = _first_task(FAMILY.train_ids, "open_drawer")
    _, rewards, _ = _episode(env, k, ScriptedPolicy(env.family.task(k), noise_std=0.0), 40)
    assert rewards[-1] > rewards[0]  # the hand closes in on the handle and pulls
    with pytest.raises(ValueError, match="reward_type"):
        SawyerManipEnv(reward_type="dense")
    with pytest.raises(ValueError, match="unknown task_id"):
        env.reset(options={"task_id": 10_000})
    button_only = FAMILY.task(_first_task(FAMILY.test_ids, "press_button"))
    if "drawer" not in scene_task(button_only.params).objects:
        with pytest.raises(ValueError, match="drawer"):
            ScriptedPolicy(button_only, aim="open_drawer")
    with pytest.raises(ValueError, match="goal"):
        ScriptedPolicy(FAMILY.task(_first_task(FAMILY.train_ids, "press_button")), aim="reach")


def test_scripted_policy_can_pursue_another_aim(env):
    k = next(k for k in FAMILY.train_ids if SCENES[k].aim == "press_button" and "drawer" in SCENES[k].objects)
    policy = ScriptedPolicy(FAMILY.task(k), noise_std=0.0, aim="open_drawer")
    observations, _, _ = _episode(env, k, policy, 120)
    assert observations[-1][4 + 7 * 1 + 6] > 0.7  # drawer slot's opening fraction: pulled open


def test_rgb_array_render(tmp_path, gl_backend):
    env = SawyerManipEnv(render_mode="rgb_array", width=64, height=48)
    env.reset(options={"task_id": 0})
    frame = env.render()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8 and frame.std() > 0
    env.close()
    from smac_bench.envs.sawyer.clip import render_scripted_episode

    out = tmp_path / "clip.gif"
    result = render_scripted_episode(0, out, every=100, size=32)
    assert out.stat().st_size > 0 and result["frames"] == 3
    with pytest.raises(UserError, match="unknown task_id"):
        render_scripted_episode(10_000, tmp_path / "x.gif")
    with pytest.raises(UserError, match=".gif"):
        render_scripted_episode(0, tmp_path / "x.mp4")


def test_frozen_file_is_what_the_generator_gives():
    from smac_bench.envs.sawyer.tasks import generate

    assert generate(FAMILY.seed).to_json() == FAMILY.to_json()
