"""Fixing a task, a set of tasks or a split at construction (Gymnasium conventions, issue #19)."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import smac_bench
from smac_bench.envs.vector import make_task_vec

FAMILY = smac_bench.task_family("cheetah-vel")


def test_task_fixed_at_construction_survives_resets_without_options():
    env = gymnasium.make(FAMILY.env_id, task_id=105)
    for seed in range(3):
        _, info = env.reset(seed=seed)
        assert info["task_id"] == 105
    _, info = env.reset(options={"task_id": 7})  # an explicit per-episode choice still wins
    assert info["task_id"] == 7


def test_split_and_task_sets_draw_only_their_tasks():
    env = gymnasium.make(FAMILY.env_id, split="test")
    drawn = {env.reset(seed=s)[1]["task_id"] for s in range(40)}
    assert drawn <= set(FAMILY.test_ids) and len(drawn) > 5
    env = gymnasium.make(FAMILY.env_id, task_ids=[3, 110])
    assert {env.reset(seed=s)[1]["task_id"] for s in range(20)} == {3, 110}
    with pytest.raises(ValueError, match="not task_id and split"):
        gymnasium.make(FAMILY.env_id, task_id=3, split="test")
    with pytest.raises(ValueError, match="split must be"):
        gymnasium.make(FAMILY.env_id, split="held-out")


def test_make_vec_split_and_autoreset_keep_sub_envs_on_their_tasks():
    vec = gymnasium.make_vec(FAMILY.env_id, num_envs=2, vectorization_mode="sync", split="test")
    _, info = vec.reset(seed=0)
    assert set(info["task_id"]) <= set(FAMILY.test_ids)
    vec = make_task_vec("cheetah-vel", [100, 121])
    _, info = vec.reset(seed=0)
    assert list(info["task_id"]) == [100, 121]
    seen = set()
    for _ in range(FAMILY.max_episode_steps + 3):  # past the time limit: autoreset starts episode two
        _, _, term, trunc, info = vec.step(np.zeros((2, 6), np.float32))
        seen.update(zip(range(2), info["task_id"], strict=True))
    assert seen == {(0, 100), (1, 121)}
    vec.close()
