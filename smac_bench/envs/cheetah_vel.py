"""Cheetah-Velocity: run HalfCheetah at a target forward velocity (PEARL / SMAC benchmark)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv

from smac_bench.envs.base import MetaTaskMixin
from smac_bench.envs.family import Task, TaskFamily

CTRL_COST_WEIGHT = 0.05


class CheetahVelEnv(MetaTaskMixin, HalfCheetahEnv):
    """HalfCheetah-v5 whose reward is ``r = -|v_x - v_goal| - 0.05 * ||a||^2``.

    ``v_x`` is the finite-difference velocity of the root x position over one control step
    (``dt = 0.05``), exactly as in Gymnasium's HalfCheetah. The goal velocity ``v_goal`` is the
    task's ``params["goal_velocity"]`` in [0, 3]; it is not observed. Episodes last 200 steps
    (set by the registered ``TimeLimit``) and never terminate early.
    """

    family_name = "cheetah-vel"

    def __init__(self, task_id: int | None = None, *, task_ids: Sequence[int] | None = None,
                 split: str | None = None, **kwargs: Any) -> None:
        HalfCheetahEnv.__init__(self, ctrl_cost_weight=CTRL_COST_WEIGHT, **kwargs)
        self._init_family(task_id, task_ids, split)

    def step(self, action):
        x_before = self.data.qpos[0]
        self.do_simulation(action, self.frame_skip)
        x_velocity = (self.data.qpos[0] - x_before) / self.dt
        speed_cost = abs(x_velocity - self.task.params["goal_velocity"])
        ctrl_cost = self.control_cost(action)
        reward = -speed_cost - ctrl_cost
        info = {
            "x_velocity": x_velocity,
            "reward_speed": -speed_cost,
            "reward_ctrl": -ctrl_cost,
            **self._task_info(),
        }
        if self.render_mode == "human":
            self.render()
        return self._get_obs(), reward, False, False, info


def generate(seed: int = 1337) -> TaskFamily:
    """130 goal velocities drawn uniformly from [0, 3]; tasks 0-99 train, 100-129 test."""
    goals = np.random.default_rng(seed).uniform(0.0, 3.0, size=130)
    return TaskFamily(
        name="cheetah-vel",
        env_id="smac_bench/CheetahVel-v0",
        tasks=tuple(Task(k, {"goal_velocity": round(float(g), 6)}) for k, g in enumerate(goals)),
        train_ids=tuple(range(100)),
        test_ids=tuple(range(100, 130)),
        max_episode_steps=200,
        seed=seed,
        description="HalfCheetah running at a hidden target velocity in [0, 3] m/s",
    )
