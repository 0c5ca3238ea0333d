"""sawyer-manip (task list v2, ``smac_bench/SawyerManip-v1``): layouts shared by sibling tasks that only the reward
tells apart; scenes, frozen split, held-out property, scripted controllers, env API, rendering.

The probe (issue #18 item 2): siblings give identical reset observations, and a classifier that
watches one task-agnostic policy (a fixed mixture of the layout's scripted controllers) cannot tell
siblings apart from observations alone, but can once it also sees the rewards.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import smac_bench  # noqa: F401  (registers the envs, picks a headless GL backend)
from smac_bench.envs import FAMILIES, task_family
from smac_bench.envs.family import task_file_sha256
from smac_bench.envs.sawyer.env import OBS_DIM, SawyerManipV1Env
from smac_bench.envs.sawyer.scene import OBJECT_KINDS
from smac_bench.envs.sawyer.scripted import ScriptedPolicy, scripted_action
from smac_bench.envs.sawyer.tasks import (
    AIMS,
    CELL,
    CELL_GAP,
    SIBLINGS_V1,
    TEST_COMBOS,
    TRAIN_COMBOS,
    anchors,
    cell_colour,
    footprint_corners,
    generate_v1,
    generate_v2,
    rectangles_overlap,
    scene_task,
)
from smac_bench.errors import UserError

# The frozen task file: a change here means task ids changed meaning. Never regenerate.
SHA256_V2 = "c220e8de030bfc471613266aefa3419479e06223c85d55b571a0e50c7b1c38bf"
FAMILY = task_family("sawyer-manip")
SCENES = {t.task_id: scene_task(t.params) for t in FAMILY.tasks}


def _layouts(ids) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for k in ids:
        out.setdefault(FAMILY.task(k).params["layout"], []).append(k)
    return out


LAYOUTS = _layouts(range(FAMILY.num_tasks))


@pytest.fixture(scope="module")
def env() -> SawyerManipV1Env:
    return SawyerManipV1Env()


def test_frozen_file_is_pinned_and_what_the_generator_gives():
    assert task_file_sha256("sawyer-manip") == SHA256_V2
    assert generate_v2(FAMILY.seed).to_json() == FAMILY.to_json()


def test_v2_keeps_v1_tasks_and_ids_and_adds_training_tables():
    v1 = generate_v1(FAMILY.seed)
    assert FAMILY.tasks[:v1.num_tasks] == v1.tasks and FAMILY.test_ids == v1.test_ids == tuple(range(120, 155))
    assert FAMILY.train_ids == v1.train_ids + tuple(range(155, 1235))
    assert len(_layouts(FAMILY.train_ids)) == FAMILY.extra["train_layouts"] == 300


def test_registration():
    spec = FAMILIES["sawyer-manip"]
    assert (spec.env_id, spec.dataset_id) == ("smac_bench/SawyerManip-v1", "smac-bench/sawyer-manip/scripted-v2")
    assert "smac_bench/SawyerManip-v0" not in gymnasium.registry and "smac_bench/AntDir-v0" not in gymnasium.registry
    env = gymnasium.make("smac_bench/SawyerManip-v1", task_id=3)
    assert env.spec.max_episode_steps == FAMILY.max_episode_steps == spec.horizon == 200
    assert env.unwrapped.family.name == "sawyer-manip" and FAMILY.env_id == "smac_bench/SawyerManip-v1"
    assert env.reset(seed=0)[1]["task_id"] == 3


def test_split_sizes_and_siblings():
    assert len(FAMILY.train_ids) >= 100 and len(FAMILY.test_ids) >= 30
    train_layouts, test_layouts = _layouts(FAMILY.train_ids), _layouts(FAMILY.test_ids)
    assert not set(train_layouts) & set(test_layouts)
    sizes = [len(ks) for ks in LAYOUTS.values()]
    assert min(sizes) >= SIBLINGS_V1 >= 3 and np.mean(sizes) >= 3
    for ks in LAYOUTS.values():
        assert ks == list(range(ks[0], ks[0] + len(ks)))  # siblings are contiguous
        first = SCENES[ks[0]]
        assert all(SCENES[k].objects == first.objects for k in ks)  # one layout, one drawer state
        assert len({(SCENES[k].aim, SCENES[k].goal) for k in ks}) == len(ks)  # no two siblings alike
    for ids in (FAMILY.train_ids, FAMILY.test_ids):
        assert {SCENES[k].aim for k in ids} == set(AIMS)


def test_test_layouts_are_held_out():
    train_combos = {SCENES[k].kinds for k in FAMILY.train_ids}
    test_combos = {SCENES[k].kinds for k in FAMILY.test_ids}
    assert not train_combos & test_combos
    assert train_combos <= set(TRAIN_COMBOS) and test_combos <= set(TEST_COMBOS)
    for ids, colour in ((FAMILY.train_ids, 0), (FAMILY.test_ids, 1)):
        for k in ids:
            assert all(cell_colour(x, y) == colour for _, x, y in anchors(SCENES[k])), k
    train_xy = np.array([(x, y) for k in FAMILY.train_ids for _, x, y in anchors(SCENES[k])])
    test_xy = np.array([(x, y) for k in FAMILY.test_ids for _, x, y in anchors(SCENES[k])])
    train_cells = {tuple(c) for c in np.floor(train_xy / CELL).astype(int).tolist()}
    test_cells = {tuple(c) for c in np.floor(test_xy / CELL).astype(int).tolist()}
    assert train_cells and test_cells and not train_cells & test_cells
    assert np.linalg.norm(test_xy[:, None] - train_xy[None], axis=-1).min() >= 2 * CELL_GAP


def test_siblings_look_identical_and_start_unsolved(env):
    """Same seed, same actions: identical observations on every sibling; no aim met at reset."""
    actions = np.random.default_rng(0).uniform(-1, 1, (15, 4))
    for ks in LAYOUTS.values():
        runs = []
        for k in ks:
            obs, info = env.reset(seed=11, options={"task_id": k})
            assert not info["success"], f"task {k} ({SCENES[k].aim}) starts solved"
            runs.append([obs] + [env.step(a)[0] for a in actions])
        assert all(np.array_equal(np.array(run), np.array(runs[0])) for run in runs[1:]), ks


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
    for ks in LAYOUTS.values():  # siblings share the scene: one reset per layout
        k = ks[0]
        obs, info = env.reset(options={"task_id": k})
        assert obs.shape == (OBS_DIM,) and obs.dtype == np.float64 and info["task_id"] == k
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


def _episode(env: SawyerManipV1Env, task_id: int, policy, steps: int) -> tuple[np.ndarray, np.ndarray]:
    obs, _ = env.reset(seed=0, options={"task_id": task_id})
    observations, rewards = [obs], []
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        assert not terminated and not truncated
        observations.append(obs)
        rewards.append(reward)
    return np.array(observations), np.array(rewards)


def test_same_seed_and_task_give_identical_trajectories():
    k = next(k for k in FAMILY.test_ids if SCENES[k].aim == "place_puck")
    runs = []
    for _ in range(2):
        env = SawyerManipV1Env()
        runs.append(_episode(env, k, ScriptedPolicy(env.family.task(k), noise_std=0.1, seed=3), 60)[0])
    assert np.array_equal(runs[0], runs[1])
    env = SawyerManipV1Env()
    first = [env.reset(seed=7)[0] for _ in range(2)]  # no task_id: a seeded training task
    assert np.array_equal(first[0], first[1]) and env.task.task_id in FAMILY.train_ids


def test_shaped_reward_and_argument_errors():
    env = SawyerManipV1Env(reward_type="shaped")
    k = next(k for k in FAMILY.train_ids if SCENES[k].aim == "open_drawer")
    _, rewards = _episode(env, k, ScriptedPolicy(env.family.task(k), noise_std=0.0), 40)
    assert rewards[-1] > rewards[0]  # the hand closes in on the handle and pulls
    with pytest.raises(ValueError, match="reward_type"):
        SawyerManipV1Env(reward_type="dense")
    with pytest.raises(ValueError, match="unknown task_id"):
        env.reset(options={"task_id": 10_000})
    no_drawer = next(k for k in FAMILY.test_ids if "drawer" not in SCENES[k].objects)
    with pytest.raises(ValueError, match="drawer"):
        ScriptedPolicy(FAMILY.task(no_drawer), aim="open_drawer")
    with pytest.raises(ValueError, match="goal"):
        ScriptedPolicy(FAMILY.task(next(k for k in FAMILY.train_ids if SCENES[k].aim == "press_button")),
                       aim="reach")


def test_scripted_policy_can_pursue_another_aim(env):
    k = next(k for k in FAMILY.train_ids if SCENES[k].aim == "press_button" and "drawer" in SCENES[k].objects
             and SCENES[k].objects["drawer"].opening == 0.0)
    policy = ScriptedPolicy(FAMILY.task(k), noise_std=0.0, aim="open_drawer")
    observations, _ = _episode(env, k, policy, 120)
    assert observations[-1][4 + 7 * 1 + 6] > 0.7  # drawer slot's opening fraction: pulled open


def test_rgb_array_render_and_sibling_clips(tmp_path, gl_backend):
    env = SawyerManipV1Env(render_mode="rgb_array", width=64, height=48)
    env.reset(options={"task_id": 0})
    frame = env.render()
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8 and frame.std() > 0
    env.close()
    from PIL import Image

    from smac_bench.envs.sawyer.clip import render_scripted_episode

    out = tmp_path / "clip.gif"
    result = render_scripted_episode(0, out, every=100, size=32)
    assert out.stat().st_size > 0 and result["frames"] == 3
    with Image.open(out) as im:
        assert im.size == (32, 32)
    sibling = LAYOUTS[0][1]
    result = render_scripted_episode(0, out, every=100, size=32, sibling=sibling)
    assert result["frames"] == 3 and result["success"] and result["sibling_success"]
    with Image.open(out) as im:
        assert im.size == (32 + 4 + 32, 32)  # the sibling on the right, a 4-pixel bar between
    other_layout = LAYOUTS[1][0]
    with pytest.raises(UserError, match="not a sibling of task 0"):
        render_scripted_episode(0, tmp_path / "x.gif", sibling=other_layout)
    with pytest.raises(UserError, match="unknown task_id"):
        render_scripted_episode(10_000, tmp_path / "x.gif")
    with pytest.raises(UserError, match=".gif"):
        render_scripted_episode(0, tmp_path / "x.mp4")


@pytest.mark.parametrize("aim", AIMS)
def test_scripted_controller_solves_a_train_and_a_test_sibling(env, aim):
    for ids in (FAMILY.train_ids, FAMILY.test_ids):
        k = next(k for k in ids if SCENES[k].aim == aim)
        obs, _ = env.reset(seed=0, options={"task_id": k})
        for _ in range(FAMILY.max_episode_steps):
            obs, reward, _, _, info = env.step(scripted_action(obs, SCENES[k]))
            if info["success"]:
                break
        assert info["success"] and reward == 0.0, f"scripted {aim} failed on task {k}"


# ------------------------------------------------------------------------------------- probe
PROBE_LAYOUTS = (0, 2, 5)  # press/open/2 reaches, close/3 reaches, press/close/2 reaches: solved < 90 steps
PROBE_CONTEXTS, PROBE_STEPS, NOISE = 2, 90, 0.1


def _probe_rollouts(env: SawyerManipV1Env) -> list[tuple[int, int, np.ndarray, float]]:
    """``(sibling label, context, observation features, return)`` per episode.

    The policy ignores the task: a context is one episode of each of the layout's scripted
    controllers in a fixed order, each with its own N(0, 0.1^2) action noise. The features are the
    episode's mean and last observation.
    """
    rows = []
    for layout in PROBE_LAYOUTS:
        siblings = LAYOUTS[layout]
        assert len(siblings) == 4
        controllers = [SCENES[k] for k in siblings]
        for label, k in enumerate(siblings):
            for context in range(PROBE_CONTEXTS):
                for j, controller in enumerate(controllers):
                    rng = np.random.default_rng([layout, label, context, j])
                    obs, _ = env.reset(seed=0, options={"task_id": k})
                    observations, ret = [obs], 0.0
                    for _ in range(PROBE_STEPS):
                        action = scripted_action(obs, controller) + rng.normal(0.0, NOISE, 4)
                        obs, reward, *_ = env.step(np.clip(action, -1.0, 1.0))
                        observations.append(obs)
                        ret += reward
                    observations = np.array(observations)
                    rows.append((label, context, np.concatenate([observations.mean(0), observations[-1]]), ret))
    return rows


def _two_fold_accuracy(x: np.ndarray, y: np.ndarray, fold: np.ndarray, classes: int = 4) -> float:
    """Accuracy of an L2-regularised softmax regression trained on one fold, tested on the other
    (both ways). Features are standardised on the training fold; constant ones are dropped."""
    hits = 0
    for test in (fold == 0, fold == 1):
        train = ~test
        mean, std = x[train].mean(0), x[train].std(0)
        keep = std > 1e-9
        xs = (x[:, keep] - mean[keep]) / std[keep]
        w, b, onehot = np.zeros((xs.shape[1], classes)), np.zeros(classes), np.eye(classes)[y[train]]
        for _ in range(300):
            z = xs[train] @ w + b
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            w -= 0.1 * (xs[train].T @ (p - onehot) + w) / train.sum()
            b -= 0.1 * (p - onehot).mean(0)
        hits += int((np.argmax(xs[test] @ w + b, 1) == y[test]).sum())
    return hits / len(y)


def test_probe_only_rewards_tell_siblings_apart(env):
    rows = _probe_rollouts(env)
    # Per episode: 96 episodes, 4 siblings a layout. Chance is 1/4 with a binomial standard error
    # of sqrt(1/4 * 3/4 / 96) = 0.044; "no better than chance" allows 3 standard errors.
    labels = np.array([r[0] for r in rows])
    folds = np.array([r[1] for r in rows])
    obs_features = np.array([r[2] for r in rows])
    episode_acc = _two_fold_accuracy(obs_features, labels, folds)
    assert episode_acc <= 0.25 + 3 * 0.044, episode_acc
    # Per context (one episode of each controller): 24 contexts, standard error 0.088.
    n = len(PROBE_LAYOUTS) * 4 * PROBE_CONTEXTS
    per_context = obs_features.reshape(n, -1)
    returns = np.array([r[3] for r in rows]).reshape(n, 4)
    y, fold = labels[::4], folds[::4]
    context_obs_acc = _two_fold_accuracy(per_context, y, fold)
    context_reward_acc = _two_fold_accuracy(np.concatenate([per_context, returns], 1), y, fold)
    assert context_obs_acc <= 0.25 + 3 * 0.088, context_obs_acc
    assert context_reward_acc >= 0.9, context_reward_acc


def test_v1_behaviour_records_one_episode_per_sibling_with_its_own_reward(env):
    """The scripted behaviour (v1 and v2), driven as the recipe's rollout drives it (one call per step for
    all tasks, per-task noise handed in): identical observations and actions on every sibling,
    and slot ``j`` earns reward only on sibling ``j``, whose aim it pursues."""
    from smac_bench.recipes.scripted import layout_siblings, sibling_behaviour

    policies = sibling_behaviour("sawyer-manip")
    siblings = layout_siblings("sawyer-manip")[0]
    assert len(policies) == 2 * len(siblings) == 8
    envs = [SawyerManipV1Env() for _ in siblings]
    rng = np.random.default_rng(0)
    for j, policy in enumerate(policies[:4]):
        obs = np.stack([e.reset(seed=j, options={"task_id": k})[0] for e, k in zip(envs, siblings, strict=True)])
        trace, returns = [obs], np.zeros(len(siblings))
        for _ in range(PROBE_STEPS):
            actions = policy(obs, rng.standard_normal((len(siblings), 4)), np.array(siblings))
            assert all(np.array_equal(a, actions[0]) for a in actions)
            steps = [e.step(a) for e, a in zip(envs, actions, strict=True)]
            obs = np.stack([s[0] for s in steps])
            returns += [s[1] for s in steps]
            trace.append(obs)
        assert all(np.array_equal(t[i], t[0]) for t in trace for i in range(len(siblings)))
        assert returns.argmax() == j and returns[j] > -PROBE_STEPS and (np.delete(returns, j) == -PROBE_STEPS).all()
    own = policies[0](obs, None, np.array(siblings))  # noise-free call: each task's own controller
    assert not all(np.array_equal(a, own[0]) for a in own)


def test_an_env_keeps_one_model_and_switching_object_sets_changes_no_episode():
    """An env holds the model of its current object set only (~23 MB each); leaving a set and coming back
    replays the same episode as a fresh env."""
    a = next(k for k in FAMILY.train_ids if SCENES[k].kinds == ("button", "drawer"))
    b = next(k for k in FAMILY.train_ids if len(SCENES[k].kinds) == 3)
    actions = np.random.default_rng(1).uniform(-1, 1, (20, 4))

    def episode(env, k):
        return np.array([env.reset(seed=5, options={"task_id": k})[0]] + [env.step(x)[0] for x in actions])

    env = SawyerManipV1Env()
    first = episode(env, a)
    episode(env, b)
    assert list(env._models) == [SCENES[b].kinds]
    assert np.array_equal(episode(env, a), first) and np.array_equal(episode(SawyerManipV1Env(), a), first)
