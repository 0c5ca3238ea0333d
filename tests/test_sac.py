"""The task-aware SAC: resumable bit-for-bit, relabelling consistent with the env's reward."""

from __future__ import annotations

import csv
import math

import gymnasium
import numpy as np
import pytest
from safetensors.numpy import load_file

import smac_bench  # noqa: F401  (registers the env ids)
from smac_bench.algos.sac import SACConfig
from smac_bench.envs.features import task_features
from smac_bench.recipes.ant_expert import ANT_DIR_RELABEL, ENV_ID, train_expert
from smac_bench.recipes.policies import SnapshotPolicy

TINY = dict(hidden=(16,), total_env_steps=600, start_steps=100, num_envs=4, updates_per_step=0.5, batch_size=32,
            threads=1, eval_every=300, eval_episodes=1, checkpoint_every=200)


def _params(run) -> dict[str, np.ndarray]:
    return load_file(str(run / "checkpoints" / _latest(run) / "state.safetensors"))


def _latest(run) -> str:
    import json

    return json.loads((run / "checkpoints" / "latest.json").read_text())["dir"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import smac_bench.recipes.ant_expert as ant

    # 2 test directions keep the evaluation cheap
    orig = ant.task_family

    class Fam:
        def __init__(self, fam):
            self.train_ids, self.test_ids = fam.train_ids, fam.test_ids[:2]

    ant.task_family = lambda name: Fam(orig(name))
    try:
        root = tmp_path_factory.mktemp("sac")
        whole, part = root / "whole", root / "part"
        s1 = train_expert(whole, SACConfig(**TINY), seed=3)
        train_expert(part, SACConfig(**TINY), seed=3, stop_after_checkpoint_at=300)
        stopped_at = _latest(part)
        s2 = train_expert(part, SACConfig(**TINY), seed=3, resume=True)
    finally:
        ant.task_family = orig
    return whole, part, s1, s2, stopped_at


def test_resumed_run_equals_uninterrupted_run(runs):
    whole, part, s1, s2, stopped_at = runs
    assert stopped_at == "step-000000400" and _latest(whole) == _latest(part) == "step-000000600"
    a, b = _params(whole), _params(part)
    assert a.keys() == b.keys() and any(k.startswith("opt_q.") for k in a)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert s1["updates"] == s2["updates"]
    assert [r["mean_return"] for r in s1["curve"]] == [r["mean_return"] for r in s2["curve"]]


def test_run_folder_has_curve_snapshots_and_config(runs):
    whole, *_ = runs
    rows = list(csv.DictReader(open(whole / "curve.csv")))
    assert [int(r["env_steps"]) for r in rows] == [0, 300, 600]
    assert {"mean_return", "min_return", "return_100", "return_101", "updates", "wall_s"} <= set(rows[0])
    snap = SnapshotPolicy.load(whole / "snapshots" / "step-0000600.safetensors")
    assert snap.in_dim == 27 + 2 and snap.meta["env_id"] == ENV_ID
    assert (whole / "config.json").is_file()
    with pytest.raises(SystemExit, match="--resume"):
        train_expert(whole, SACConfig(**TINY))


def test_relabelled_reward_equals_env_reward_for_own_direction():
    env = gymnasium.make(ENV_ID)
    env.reset(seed=1, options={"task_id": 7})
    rng = np.random.default_rng(1)
    feats = task_features("ant-dir", 7)[None]
    for _ in range(30):
        _, r, term, _, info = env.step(rng.uniform(-1, 1, 8))
        got = ANT_DIR_RELABEL.reward(ANT_DIR_RELABEL.info_of_step(info, r)[None], feats)[0]
        assert got == pytest.approx(r, abs=1e-4)
        if term:
            break
    # another direction: the velocity term is rescored, the rest is kept
    theta = 1.0
    info_row = ANT_DIR_RELABEL.info_of_step(info, r)[None]
    other = ANT_DIR_RELABEL.reward(info_row, np.array([[math.cos(theta), math.sin(theta)]], np.float32))[0]
    want = info["x_velocity"] * math.cos(theta) + info["y_velocity"] * math.sin(theta) + r - info["reward_forward"]
    assert other == pytest.approx(want, abs=1e-4)
