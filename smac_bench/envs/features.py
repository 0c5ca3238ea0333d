"""Task features: a small vector per task holding what the observation cannot show.

One concept, one place. Two kinds of consumers are *told the task* and read it from here:

* the dataset recipes' task-aware behaviour policies (:mod:`smac_bench.recipes`), which see the features
  appended to the observation while they collect data (datasets store the plain observation and
  ``task_id`` only);
* the task-conditioned behaviour-cloning bound ``bc-task`` (:mod:`smac_bench.algos.bc`, issue #18), which
  the harness gives every task's features at setup.

Meta-RL agents never see them: they must infer the task from rewards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from smac_bench.envs.family import task_family
from smac_bench.errors import UserError


def _cheetah_vel(params: Mapping[str, Any]) -> np.ndarray:
    """``[goal_velocity]``."""
    return np.array([params["goal_velocity"]], np.float32)


def _ant_dir(params: Mapping[str, Any]) -> np.ndarray:
    """``[cos(direction), sin(direction)]``: continuous over the circle, unlike the angle itself."""
    theta = params["direction"]
    return np.array([math.cos(theta), math.sin(theta)], np.float32)


def _sawyer_manip(params: Mapping[str, Any]) -> np.ndarray:
    """One-hot of the aim over :data:`~smac_bench.envs.sawyer.tasks.AIMS`, then the hidden goal point.

    Sibling tasks share a layout, so the objects' poses are in the observation already; what tells
    siblings apart is the aim and, for ``place_puck`` and ``reach``, a goal point nobody can see. The
    tray centre of ``place_in_tray`` is visible (the tray is an object of the scene) and aims
    without a goal point of their own get zeros there.
    """
    from smac_bench.envs.sawyer.tasks import AIMS, scene_task  # lazily: the scene module imports MuJoCo

    task = scene_task(params)
    one_hot = np.zeros(len(AIMS), np.float32)
    one_hot[AIMS.index(task.aim)] = 1.0
    hidden_goal = np.zeros(3, np.float32)
    if task.goal is not None and task.aim != "place_in_tray":
        hidden_goal[:] = task.goal
    return np.concatenate([one_hot, hidden_goal])


TASK_FEATURES: dict[str, Callable[[Mapping[str, Any]], np.ndarray]] = {
    "cheetah-vel": _cheetah_vel,
    "ant-dir": _ant_dir,
    "sawyer-manip": _sawyer_manip,
}
"""Per family: the function from a task's ``params`` to its float32 feature vector (one length per family)."""


def task_features(family: str, task_id: int) -> np.ndarray:
    """The float32 feature vector of task ``task_id`` of ``family``; :class:`UserError` for a family without any.

    * cheetah-vel: ``[goal_velocity]``
    * ant-dir: ``[cos(direction), sin(direction)]``
    * sawyer-manip: one-hot aim (6) + hidden goal point (3, zeros when the aim has none)
    """
    if family not in TASK_FEATURES:
        raise UserError(f"no task features for family {family!r}: known for {', '.join(sorted(TASK_FEATURES))}")
    return TASK_FEATURES[family](task_family(family).task(task_id).params)


def family_task_features(family: str) -> dict[int, np.ndarray]:
    """``{task_id: features}`` for every task of ``family``, train and test (what a told-task agent is given)."""
    return {t.task_id: task_features(family, t.task_id) for t in task_family(family).tasks}
