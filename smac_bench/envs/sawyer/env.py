"""``SawyerManipV1Env``: the Gymnasium env of the ``sawyer-manip`` task family, ``smac_bench/SawyerManip-v1``
(sibling tasks share each table layout; v0, one layout per task, is retired).

Control is Meta-World's ``SawyerXYZEnv``: an action ``a`` in [-1, 1]^4 moves the mocap target of the
hand by ``0.01 * a[:3]`` metres (clipped to the workspace box) and drives the two fingers with
``ctrl = (a[3], -a[3])`` (+1 closes); then the physics advances 5 steps of 2.5 ms (``dt = 12.5 ms``).

Observation (fixed size :data:`OBS_DIM` = 32, whatever objects the task has)::

    [hand x, y, z, gripper opening in [0, 1]]
    + for each slot in OBJECT_KINDS = (button, drawer, puck, tray):
      [present, x, y, z, cos(yaw), sin(yaw), joint]     (all zero when the object is absent)

where the position is the point an aim acts on (button face, drawer handle, puck centre, tray
centre on the table) and ``joint`` is the button's depression / the drawer's opening as a fraction
of its travel (0 for puck and tray, whose yaw is reported as 0). The aim and the goal point are not
observed.

Reward: ``"sparse"`` (default) is ``success - 1`` each step, as in the SMAC paper; ``"shaped"`` is
``success - d_hand - d_task`` with ``d_hand`` the hand's distance to the object the aim acts on and
``d_task`` the aim's remaining error (metres, or the fraction of travel left for button/drawer).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import gymnasium
import mujoco
import numpy as np
from gymnasium import spaces

from smac_bench.envs.base import MetaTaskMixin
from smac_bench.envs.render import renderer as offscreen_renderer
from smac_bench.envs.sawyer.scene import (
    BUTTON_TRAVEL,
    DRAWER_TRAVEL,
    FRAME_SKIP,
    HAND_INIT_POS,
    HAND_QUAT,
    MOCAP_HIGH,
    MOCAP_LOW,
    OBJECT_KINDS,
    PHYSICS_TIMESTEP,
    PUCK_RADIUS,
    SceneModel,
    scene_model,
    yaw_quat,
)
from smac_bench.envs.sawyer.tasks import SceneTask, scene_task

ACTION_SCALE = 0.01  # metres of mocap motion per unit action per step (Meta-World's value)
SLOT_SIZE = 7
OBS_DIM = 4 + SLOT_SIZE * len(OBJECT_KINDS)
SLOT_START = {kind: 4 + SLOT_SIZE * i for i, kind in enumerate(OBJECT_KINDS)}
PRESS_SUCCESS = 0.04  # button depression (m) that counts as pressed (2/3 of its travel)
OPEN_SUCCESS = 0.12  # drawer opening (m) that counts as open
CLOSE_SUCCESS = 0.02  # drawer opening (m) below which it counts as shut
GOAL_TOLERANCE = 0.05  # distance (m) of puck / hand to the goal point that counts as reached
REWARD_TYPES = ("sparse", "shaped")


def slot(obs: np.ndarray, kind: str) -> tuple[bool, np.ndarray, float, float]:
    """``(present, position, yaw, joint fraction)`` of one object slot of an observation."""
    s = SLOT_START[kind]
    return bool(obs[s] > 0.5), obs[s + 1:s + 4], math.atan2(obs[s + 5], obs[s + 4]), float(obs[s + 6])


class _SawyerScene(gymnasium.Env):
    """Simulation of one :class:`SceneTask` (``self.task`` is set by :class:`MetaTaskMixin`)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": int(round(1.0 / (FRAME_SKIP * PHYSICS_TIMESTEP)))}

    def __init__(self, reward_type: str = "sparse", render_mode: str | None = None,
                 width: int = 480, height: int = 480, camera: str = "overview") -> None:
        if reward_type not in REWARD_TYPES:
            raise ValueError(f"reward_type {reward_type!r} is not one of {', '.join(REWARD_TYPES)}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r} is not supported: use None or 'rgb_array'")
        self.reward_type, self.render_mode = reward_type, render_mode
        self.width, self.height, self.camera = width, height, camera
        self.action_space = spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.observation_space = spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float64)
        # Compiled models are shared (cached per object set); each env owns a copy because the object
        # poses are written into the model at reset. It keeps the current object set's copy only: a
        # copy holds ~23 MB, so a pool of 140 envs keeping one per object set of the 8 training
        # combinations held 25 GB; a new copy takes ~7 ms, once per change of object set.
        self._models: dict[tuple[str, ...], tuple[mujoco.MjModel, mujoco.MjData]] = {}
        self._renderers: dict[tuple[str, ...], mujoco.Renderer] = {}
        self._parsed: dict[int, SceneTask] = {}
        self.model: mujoco.MjModel | None = None
        self.data: mujoco.MjData | None = None

    @property
    def dt(self) -> float:
        """Seconds of simulated time per env step (5 x 2.5 ms)."""
        return FRAME_SKIP * PHYSICS_TIMESTEP

    # ----------------------------------------------------------------------------- reset
    def _scene_task(self) -> SceneTask:
        if self.task.task_id not in self._parsed:
            self._parsed[self.task.task_id] = scene_task(self.task.params)
        return self._parsed[self.task.task_id]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        gymnasium.Env.reset(self, seed=seed)
        st = self.scene_task = self._scene_task()
        self.scene: SceneModel = scene_model(st.kinds)
        if st.kinds not in self._models:
            self._drop_renderers()  # a renderer draws the model it was made with
            model = copy.deepcopy(self.scene.model)
            self._models = {st.kinds: (model, mujoco.MjData(model))}
        self.model, self.data = model, data = self._models[st.kinds]
        sc = self.scene
        mujoco.mj_resetData(model, data)
        data.qpos[:len(sc.arm_qpos)] = sc.arm_qpos
        self._static_obs = np.zeros(OBS_DIM)
        for kind, pose in st.objects.items():
            s = SLOT_START[kind]
            self._static_obs[s:s + 7] = (1.0, pose.x, pose.y, 0.0, math.cos(pose.yaw), math.sin(pose.yaw), 0.0)
            if kind == "puck":
                data.qpos[sc.qpos_adr[kind]:sc.qpos_adr[kind] + 7] = (pose.x, pose.y, PUCK_RADIUS, 1, 0, 0, 0)
            else:
                model.body_pos[sc.anchor_body[kind]] = (pose.x, pose.y, 0.0)
                model.body_quat[sc.anchor_body[kind]] = yaw_quat(pose.yaw)
        if "drawer" in st.objects:
            data.qpos[sc.qpos_adr["drawer"]] = -st.objects["drawer"].opening
        model.site_pos[sc.goal_site] = st.goal if st.goal is not None else (0.0, 0.0, -1.0)
        data.mocap_pos[0], data.mocap_quat[0] = HAND_INIT_POS, HAND_QUAT
        data.ctrl[:] = (-1.0, 1.0)
        mujoco.mj_forward(model, data)
        obs = self._obs()
        return obs, {"success": self._success(obs)}

    # ------------------------------------------------------------------------------ step
    def step(self, action):
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        if a.shape != (4,):
            raise ValueError(f"action must have shape (4,), got {a.shape}")
        data = self.data
        data.mocap_pos[0] = np.clip(data.mocap_pos[0] + ACTION_SCALE * a[:3], MOCAP_LOW, MOCAP_HIGH)
        data.ctrl[0], data.ctrl[1] = a[3], -a[3]
        mujoco.mj_step(self.model, data, nstep=FRAME_SKIP)
        mujoco.mj_kinematics(self.model, data)  # positions at the end of the step, not before it
        obs = self._obs()
        success = self._success(obs)
        reward = float(success) - 1.0 if self.reward_type == "sparse" else self._shaped(obs, success)
        return obs, reward, False, False, {"success": success, **self._task_info()}

    # --------------------------------------------------------------------------- readouts
    def _obs(self) -> np.ndarray:
        data, sc, obs = self.data, self.scene, self._static_obs.copy()
        obs[0:3] = data.xpos[sc.hand_body]
        right, left = sc.finger_bodies
        # fingers are ~0.1 m apart when open (Meta-World's normalisation)
        obs[3] = min(max(math.dist(data.xpos[right], data.xpos[left]) / 0.1, 0.0), 1.0)
        for kind, travel in (("button", BUTTON_TRAVEL), ("drawer", DRAWER_TRAVEL)):
            if kind in sc.point_site:
                s = SLOT_START[kind]
                obs[s + 1:s + 4] = data.site_xpos[sc.point_site[kind]]
                obs[s + 6] = min(max(-data.qpos[sc.qpos_adr[kind]] / travel, 0.0), 1.0)
        if "puck" in sc.qpos_adr:
            s, q = SLOT_START["puck"], sc.qpos_adr["puck"]
            obs[s + 1:s + 4] = data.qpos[q:q + 3]
        return obs

    def _task_error(self, obs: np.ndarray) -> tuple[float, np.ndarray]:
        """``(remaining error of the aim, point the hand must act on)``; error <= 0 means success."""
        aim, goal = self.scene_task.aim, self.scene_task.goal
        if aim == "reach":
            return math.dist(obs[0:3], goal) - GOAL_TOLERANCE, np.asarray(goal)
        if aim == "press_button":
            _, tip, _, pressed = slot(obs, "button")
            return (PRESS_SUCCESS - pressed * BUTTON_TRAVEL) / BUTTON_TRAVEL, tip
        _, handle, _, opened = slot(obs, "drawer")
        if aim == "open_drawer":
            return (OPEN_SUCCESS - opened * DRAWER_TRAVEL) / DRAWER_TRAVEL, handle
        if aim == "close_drawer":
            return (opened * DRAWER_TRAVEL - CLOSE_SUCCESS) / DRAWER_TRAVEL, handle
        puck = slot(obs, "puck")[1]
        return math.dist(puck, goal) - GOAL_TOLERANCE, puck

    def _success(self, obs: np.ndarray) -> bool:
        return bool(self._task_error(obs)[0] <= 0.0)

    def _shaped(self, obs: np.ndarray, success: bool) -> float:
        error, point = self._task_error(obs)
        d_hand = 0.0 if self.scene_task.aim == "reach" else math.dist(obs[0:3], point)
        return float(success) - d_hand - max(error, 0.0)

    # ---------------------------------------------------------------------------- render
    def render(self) -> np.ndarray | None:
        """An ``(height, width, 3)`` uint8 frame from the ``overview`` camera (rgb_array mode)."""
        if self.render_mode != "rgb_array":
            return None
        if self.data is None:
            raise RuntimeError("call reset() before render()")
        kinds = self.scene.kinds
        if kinds not in self._renderers:
            self._renderers[kinds] = offscreen_renderer(self.model, self.height, self.width)
        frame_renderer = self._renderers[kinds]
        frame_renderer.update_scene(self.data, camera=self.camera)
        return frame_renderer.render()

    def close(self) -> None:
        self._drop_renderers()

    def _drop_renderers(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()


class SawyerManipV1Env(MetaTaskMixin, _SawyerScene):
    """Sawyer manipulation meta-task env, ``smac_bench/SawyerManip-v1`` (200-step episodes), on the
    ``sawyer-manip`` task list, where each table layout hosts several sibling tasks.

    ``env.reset(seed=s, options={"task_id": k})`` loads task ``k``'s scene (objects, poses) and
    aim; ``info["success"]`` and ``info["task_id"]`` are given at reset and every step. Keyword
    ``reward_type`` is ``"sparse"`` (default) or ``"shaped"`` (see module docstring).

    Siblings differ only in the aim and hidden goal points, neither of which is observed, and
    reset draws nothing from the task (the hand starts at :data:`HAND_INIT_POS`, the drawer as the
    layout has it), so siblings give identical observations for identical actions: only the
    reward tells them apart.
    """

    family_name = "sawyer-manip"

    def __init__(self, task_id: int | None = None, reward_type: str = "sparse",
                 render_mode: str | None = None, width: int = 480, height: int = 480,
                 camera: str = "overview", *, task_ids: Sequence[int] | None = None,
                 split: str | None = None) -> None:
        _SawyerScene.__init__(self, reward_type, render_mode, width, height, camera)
        self._init_family(task_id, task_ids, split)
