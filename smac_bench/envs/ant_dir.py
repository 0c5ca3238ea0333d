"""Ant-Direction: make the Ant walk in a hidden direction on the plane (PEARL / SMAC benchmark), and its symmetry."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.envs.mujoco.ant_v5 import AntEnv

from smac_bench.envs.base import MetaTaskMixin
from smac_bench.envs.family import Task, TaskFamily


class AntDirEnv(MetaTaskMixin, AntEnv):
    """Ant-v5 rewarded for torso velocity along the task's direction ``theta`` (``smac_bench/AntDir-v1``).

    ``r = v_xy . (cos theta, sin theta) - 0.5 ||a||^2 - 5e-4 ||clip(cfrc_ext, -1, 1)||^2 + 1``,
    where ``v_xy`` is the torso's finite-difference planar velocity over one control step.
    The episode terminates when the torso height leaves [0.2, 1.0] (Ant-v5's health check).
    The observation is the original PEARL / SMAC ant's: ``qpos[2:]`` and ``qvel``, 27 numbers, no
    contact forces (rlkit's ``AntDirEnv``: ``_get_obs`` concatenates ``qpos.flat[2:]`` and
    ``qvel.flat``); the contact cost stays in the reward. ``theta`` is not in it. (v0 showed
    Ant-v5's 105 numbers, 78 % contact forces, mostly zeros; it and its dataset are retired.)
    """

    family_name = "ant-dir"

    def __init__(self, task_id: int | None = None, *, task_ids: Sequence[int] | None = None,
                 split: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("include_cfrc_ext_in_observation", False)
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


def _quarter_turn_indices() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One quarter turn of the v1 observation and of the action as signed permutations ``new = old[idx] * sign``.

    The ant's legs sit at 45, 135, 225 and 315 degrees in the torso frame with identical geometry and
    gears; turning the whole ant +90 degrees about the world's z axis and naming the legs anew (leg j
    becomes leg j+1) gives a state of the same model. The hips turn about z and keep their angle; an
    ankle axis points along its leg's direction +90 degrees (legs 1, 4) or -90 degrees (legs 2, 3), so
    the angle of ankles 1 -> 2 and 3 -> 4 changes sign. Observation (27): ``z, quat(w,x,y,z)``, 4 x
    (hip, ankle), world linear velocity (3), body-frame angular velocity (3), 4 x joint velocities;
    the quaternion's vector part and both velocities' xy parts turn by +90 degrees, ``(x, y) -> (-y, x)``.
    Actions follow the XML's actuator order hip_4, ankle_4, hip_1, ankle_1, hip_2, ... .
    """
    ankle_sign = (-1.0, 1.0, -1.0, 1.0)  # leg j -> leg j+1
    obs_idx, obs_sign = np.arange(27), np.ones(27)
    for x, y in ((2, 3), (13, 14), (16, 17)):
        obs_idx[x], obs_sign[x], obs_idx[y] = y, -1.0, x
    act_idx, act_sign = np.arange(8), np.ones(8)
    for leg in range(4):
        new = (leg + 1) % 4
        for base in (5, 19):
            obs_idx[base + 2 * new], obs_idx[base + 2 * new + 1] = base + 2 * leg, base + 2 * leg + 1
            obs_sign[base + 2 * new + 1] = ankle_sign[leg]
        old_hip, new_hip = (2 * leg + 2) % 8, (2 * new + 2) % 8
        act_idx[new_hip], act_idx[new_hip + 1] = old_hip, old_hip + 1
        act_sign[new_hip + 1] = ankle_sign[leg]
    return obs_idx, obs_sign, act_idx, act_sign


_OBS_IDX, _OBS_SIGN, _ACT_IDX, _ACT_SIGN = _quarter_turn_indices()


def turn_observation(obs: np.ndarray, turns: int = 1) -> np.ndarray:
    """AntDir-v1 observations ``[..., 27]`` of the ant turned ``turns`` x 90 degrees (negative: clockwise).

    With :func:`turn_action` an exact symmetry of the simulation (a test steps a turned copy with
    turned actions and gets the turned observations to 1e-9) under which the reward of direction
    ``theta`` equals that of ``theta + turns * pi / 2``: a policy that walks in one quarter of the
    directions walks in all of them (:class:`smac_bench.recipes.policies.QuarterTurnPolicy`).
    """
    for _ in range(turns % 4):
        obs = obs[..., _OBS_IDX] * _OBS_SIGN
    return obs


def turn_action(action: np.ndarray, turns: int = 1) -> np.ndarray:
    """Actions ``[..., 8]`` turned with the ant as :func:`turn_observation` turns its observation."""
    for _ in range(turns % 4):
        action = action[..., _ACT_IDX] * _ACT_SIGN
    return action


def generate(seed: int = 1337) -> TaskFamily:
    """120 directions drawn uniformly from [0, 2 pi); tasks 0-99 train, 100-119 test."""
    angles = np.random.default_rng(seed).uniform(0.0, 2 * math.pi, size=120)
    return TaskFamily(
        name="ant-dir",
        env_id="smac_bench/AntDir-v1",
        tasks=tuple(Task(k, {"direction": round(float(a), 6)}) for k, a in enumerate(angles)),
        train_ids=tuple(range(100)),
        test_ids=tuple(range(100, 120)),
        max_episode_steps=200,
        seed=seed,
        description="Ant walking in a hidden direction on the full circle",
    )
