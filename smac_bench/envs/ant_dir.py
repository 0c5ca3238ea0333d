"""Ant-Direction: make the Ant walk in a hidden direction on the plane (PEARL / SMAC benchmark)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.envs.mujoco.ant_v5 import AntEnv

from smac_bench.envs.base import MetaTaskMixin
from smac_bench.envs.family import Task, TaskFamily, register_generator


class AntDirEnv(MetaTaskMixin, AntEnv):
    """Ant-v5 rewarded for torso velocity along the task's direction ``theta``.

    ``r = v_xy . (cos theta, sin theta) - 0.5 ||a||^2 - 5e-4 ||clip(cfrc_ext, -1, 1)||^2 + 1``,
    where ``v_xy`` is the torso's finite-difference planar velocity over one control step.
    The episode terminates when the torso height leaves [0.2, 1.0] (Ant-v5's health check).
    The observation is Ant-v5's default (105 numbers, contact forces included); ``theta`` is not
    in it.
    """

    family_name = "ant-dir"

    def __init__(self, task_id: int | None = None, *, task_ids: Sequence[int] | None = None,
                 split: str | None = None, **kwargs: Any) -> None:
        AntEnv.__init__(self, **kwargs)
        self._init_family(task_id, task_ids, split)

    def step(self, action):
        xy_before = self.data.body(self._main_body).xpos[:2].copy()
        self.do_simulation(action, self.frame_skip)
        xy_velocity = (self.data.body(self._main_body).xpos[:2] - xy_before) / self.dt
        theta = self.task.params["direction"]
        forward = float(xy_velocity @ np.array([math.cos(theta), math.sin(theta)]))
        healthy = self.is_healthy
        ctrl_cost = self.control_cost(action)
        contact_cost = self.contact_cost
        reward = forward + self._healthy_reward * healthy - ctrl_cost - contact_cost
        info = {
            "x_velocity": xy_velocity[0],
            "y_velocity": xy_velocity[1],
            "reward_forward": forward,
            "reward_ctrl": -ctrl_cost,
            "reward_contact": -contact_cost,
            "reward_survive": self._healthy_reward * healthy,
            **self._task_info(),
        }
        if self.render_mode == "human":
            self.render()
        return self._get_obs(), reward, not healthy, False, info


class AntDirV1Env(AntDirEnv):
    """Ant-Dir with the observation of the original PEARL / SMAC ant: ``qpos[2:]`` and ``qvel``.

    27 numbers, no contact forces (Ant-v5 with ``include_cfrc_ext_in_observation=False``), as in
    rlkit/PEARL's ``AntDirEnv`` (``rand_param_envs``-free ``ant.py``: ``_get_obs`` concatenates
    ``qpos.flat[2:]`` and ``qvel.flat``). Tasks, split, reward (contact cost included, computed from
    ``cfrc_ext`` whatever the observation shows) and termination are those of v0. The 105-number v0
    observation is 78 % contact forces, mostly zeros, which a task-aware SAC has to learn to ignore.
    """

    def __init__(self, task_id: int | None = None, *, task_ids: Sequence[int] | None = None,
                 split: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("include_cfrc_ext_in_observation", False)
        super().__init__(task_id, task_ids=task_ids, split=split, **kwargs)


@register_generator("ant-dir")
def generate(seed: int = 1337) -> TaskFamily:
    """120 directions drawn uniformly from [0, 2 pi); tasks 0-99 train, 100-119 test."""
    angles = np.random.default_rng(seed).uniform(0.0, 2 * math.pi, size=120)
    return TaskFamily(
        name="ant-dir",
        env_id="smac_bench/AntDir-v0",
        tasks=tuple(Task(k, {"direction": round(float(a), 6)}) for k, a in enumerate(angles)),
        train_ids=tuple(range(100)),
        test_ids=tuple(range(100, 120)),
        max_episode_steps=200,
        seed=seed,
        description="Ant walking in a hidden direction on the full circle",
    )
