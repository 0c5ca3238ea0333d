"""Task features at the envs layer: every family has them, and they hold what the observation cannot show."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from smac_bench.envs import FAMILIES, task_family
from smac_bench.envs.features import family_task_features, task_features
from smac_bench.envs.sawyer.tasks import AIMS
from smac_bench.errors import UserError


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_has_float32_features_of_one_length_on_train_and_test(family):
    fam = task_family(family)
    feats = family_task_features(family)
    assert sorted(feats) == list(range(fam.num_tasks))
    lengths = {len(feats[k]) for k in (*fam.train_ids, *fam.test_ids)}
    assert len(lengths) == 1 and lengths.pop() > 0
    assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in feats.values())


def test_cheetah_and_ant_features_are_the_behaviour_policies_inputs_bit_for_bit():
    cheetah = task_family("cheetah-vel").task(105).params
    assert task_features("cheetah-vel", 105).tobytes() == np.array([cheetah["goal_velocity"]], np.float32).tobytes()
    theta = task_family("ant-dir").task(7).params["direction"]
    expected = np.array([math.cos(theta), math.sin(theta)], np.float32)
    assert task_features("ant-dir", 7).tobytes() == expected.tobytes()


def test_recipes_read_the_envs_features():
    from smac_bench.recipes import ant_expert, build, snapshots

    assert ant_expert.task_features is build.task_features is snapshots.task_features is task_features


def test_sawyer_features_are_the_aim_and_the_hidden_goal():
    fam = task_family("sawyer-manip")
    seen = set()
    for task in fam.tasks:
        f = task_features("sawyer-manip", task.task_id)
        aim, goal = task.params["aim"], task.params["goal"]
        assert f.shape == (len(AIMS) + 3,)
        assert f[:len(AIMS)].tolist() == [float(a == aim) for a in AIMS]
        hidden = goal is not None and aim != "place_in_tray"  # the tray centre is in the observation
        np.testing.assert_array_equal(f[len(AIMS):], np.asarray(goal if hidden else [0, 0, 0], np.float32))
        seen.add(aim)
    assert seen == set(AIMS)


def test_sawyer_siblings_of_a_layout_have_distinct_features():
    """Siblings share the scene, so the features must carry everything that tells them apart."""
    by_layout = defaultdict(list)
    for task in task_family("sawyer-manip").tasks:
        by_layout[task.params["layout"]].append(task_features("sawyer-manip", task.task_id).tobytes())
    assert len(by_layout) == 308  # task list v2: 300 training and 8 test tables
    assert all(len(set(sib)) == len(sib) >= 4 for sib in by_layout.values())


def test_a_family_without_features_is_a_user_error():
    with pytest.raises(UserError, match="no task features for family 'toy'"):
        task_features("toy", 0)
