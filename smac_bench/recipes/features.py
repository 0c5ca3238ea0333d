"""Task features appended to the observation of task-aware (non-meta) behaviour policies.

Only behaviour policies see them; datasets store the plain observation plus ``task_id``.
"""

from __future__ import annotations

import math

import numpy as np

from smac_bench.envs import task_family


def task_features(family: str, task_id: int) -> np.ndarray:
    """A small float32 vector describing task ``task_id`` of ``family``.

    * cheetah-vel: ``[goal_velocity]``
    * ant-dir: ``[cos(direction), sin(direction)]`` (continuous over the circle)
    """
    params = task_family(family).task(task_id).params
    if family == "cheetah-vel":
        return np.array([params["goal_velocity"]], np.float32)
    if family == "ant-dir":
        theta = params["direction"]
        return np.array([math.cos(theta), math.sin(theta)], np.float32)
    raise ValueError(f"no task features defined for family {family!r}")
