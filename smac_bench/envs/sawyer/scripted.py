"""Waypoint controllers for every ``sawyer-manip`` aim (behaviour policies for datasets).

Each controller is memoryless: from the observation (object positions, yaw, joint fractions) and
the privileged aim/goal it picks the next waypoint ``w`` and returns the proportional action
``a = clip(GAIN * (w - hand), -1, 1)`` plus a gripper command (+1 closes, -1 opens). Moving between
objects goes over them at :data:`TRAVEL_Z` so the hand never sweeps through a box.

Directions use the object's push axis ``n = (-sin yaw, cos yaw, 0)``: the button is pressed and the
drawer shut along ``+n``; the drawer is pulled open along ``-n`` (toward the robot).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from smac_bench.envs.family import Task
from smac_bench.envs.sawyer.env import slot
from smac_bench.envs.sawyer.tasks import AIM_NEEDS, AIMS, SceneTask, scene_task

GAIN = 10.0  # action per metre of waypoint error: full speed (1 cm/step) beyond 10 cm
TRAVEL_Z = 0.32  # hand height for moving between objects (box tops are at 0.24)
XY_TOLERANCE = 0.02  # how close above a waypoint the hand must be before it descends
FUNNEL = 0.08  # horizontal radius (m) of the cone the hand descends along onto a waypoint
LOW_Z = 0.12  # below this height the hand rises before it moves sideways
FINGER_Y = 0.0485  # the open fingers sit at hand y -/+ this (they close along the world y axis)
OPEN, CLOSE = -1.0, 1.0


def _push_axis(yaw: float) -> np.ndarray:
    return np.array([-math.sin(yaw), math.cos(yaw), 0.0])


def _toward(hand: np.ndarray, waypoint: np.ndarray, gain: float = GAIN) -> np.ndarray:
    return np.clip(gain * (waypoint - hand), -1.0, 1.0)


def _over_then_down(hand: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Waypoint toward ``target`` that keeps the hand above the objects in between.

    Far from the target (horizontal distance ``d > XY_TOLERANCE + FUNNEL``) the hand cruises at
    :data:`TRAVEL_Z`, and its horizontal speed ``lift`` in [0, 1] grows with its height above
    :data:`LOW_Z` (so it rises before it crosses); within ``FUNNEL`` it descends along a cone,
    ``z = z_target + (TRAVEL_Z - z_target) * (d - XY_TOLERANCE) / FUNNEL``.
    """
    d = math.dist(hand[:2], target[:2])
    if d <= XY_TOLERANCE:
        return target
    z = target[2] + (TRAVEL_Z - target[2]) * min(1.0, (d - XY_TOLERANCE) / FUNNEL)
    lift = 1.0
    if d > XY_TOLERANCE + FUNNEL:
        lift = min(max((hand[2] - LOW_Z) / (TRAVEL_Z - 0.04 - LOW_Z), 0.0), 1.0)
    step = min(d, lift / GAIN)  # the proportional action then moves at `lift` cm per step
    xy = hand[:2] + (target[:2] - hand[:2]) * (step / d)
    return np.array([xy[0], xy[1], z])


def _along_across(hand: np.ndarray, origin: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Offset of the hand from ``origin``: signed distance along ``n`` and distance across it."""
    e = hand - origin
    along = float(e @ n)
    return along, float(np.linalg.norm(e - along * n))


def _press_button(obs: np.ndarray) -> tuple[np.ndarray, float]:
    hand = obs[:3]
    _, tip, yaw, _ = slot(obs, "button")
    n = _push_axis(yaw)
    along, across = _along_across(hand, tip, n)
    if across < 0.02 and -0.2 < along < 0.05:  # lined up in front of the button: push through it
        return tip + 0.06 * n, CLOSE
    return _over_then_down(hand, tip - 0.10 * n), CLOSE


def _open_drawer(obs: np.ndarray) -> tuple[np.ndarray, float]:
    hand = obs[:3]
    _, handle, yaw, _ = slot(obs, "drawer")
    n = _push_axis(yaw)
    # hook the rear finger into the gap between the handle bar and the drawer front (0.009-0.06 m)
    hook = handle + 0.035 * n - np.array([0.0, FINGER_Y, 0.0])
    along, across = _along_across(hand, hook, n)
    if across < 0.025 and -0.08 < along < 0.02 and hand[2] - hook[2] < 0.03:
        return hook - 0.10 * n, OPEN  # pull toward the robot
    return _over_then_down(hand, hook), OPEN


def _close_drawer(obs: np.ndarray) -> tuple[np.ndarray, float]:
    hand = obs[:3]
    _, handle, yaw, _ = slot(obs, "drawer")
    n = _push_axis(yaw)
    along, across = _along_across(hand, handle, n)
    if across < 0.02 and -0.15 < along < 0.03:
        return handle + 0.10 * n, CLOSE  # push the handle into the case
    return _over_then_down(hand, handle - 0.08 * n), CLOSE


def _place_puck(obs: np.ndarray, goal: np.ndarray) -> tuple[np.ndarray, float]:
    hand, gripper = obs[:3], obs[3]
    puck = slot(obs, "puck")[1]
    grasp_point = puck + np.array([0.0, 0.0, 0.03])  # fingers centred on the puck
    near = math.dist(hand[:2], puck[:2]) < 0.03 and -0.02 < hand[2] - puck[2] < 0.06
    if not near:
        return _over_then_down(hand, grasp_point), (CLOSE if math.dist(hand, grasp_point) < 0.015 else OPEN)
    if gripper > 0.8 and puck[2] < 0.04:  # fingers still closing on the puck: wait
        return grasp_point, CLOSE
    offset = hand - puck  # carry: move the hand so that the puck lands on the goal
    return _over_then_down(hand, goal + offset), CLOSE


def _reach(obs: np.ndarray, goal: np.ndarray) -> tuple[np.ndarray, float]:
    return _over_then_down(obs[:3], goal), OPEN


def waypoint(obs: np.ndarray, aim: str, goal: Sequence[float] | None) -> tuple[np.ndarray, float]:
    """``(hand waypoint, gripper command)`` of the controller for ``aim``."""
    if aim == "press_button":
        return _press_button(obs)
    if aim == "open_drawer":
        return _open_drawer(obs)
    if aim == "close_drawer":
        return _close_drawer(obs)
    if aim in ("place_puck", "place_in_tray"):
        return _place_puck(obs, np.asarray(goal, dtype=np.float64))
    if aim == "reach":
        return _reach(obs, np.asarray(goal, dtype=np.float64))
    raise ValueError(f"unknown aim {aim!r}: choose one of {', '.join(AIMS)}")


def scripted_action(obs: np.ndarray, task: Task | SceneTask, rng: np.random.Generator | None = None,
                    noise_std: float = 0.0, aim: str | None = None,
                    goal: Sequence[float] | None = None) -> np.ndarray:
    """Action (float32, in [-1, 1]^4) of the scripted controller, plus N(0, noise_std^2) noise.

    ``aim``/``goal`` default to the task's own; pass them to pursue another aim in the task's
    scene (``place_in_tray`` defaults its goal to the tray centre).
    """
    st = task if isinstance(task, SceneTask) else scene_task(task.params)
    aim, goal = _resolve_aim(st, aim, goal)
    target, grip = waypoint(np.asarray(obs, dtype=np.float64), aim, goal)
    action = np.append(_toward(np.asarray(obs[:3], dtype=np.float64), target), grip)
    if noise_std > 0.0:
        if rng is None:
            raise ValueError("scripted_action needs an rng when noise_std > 0")
        action = action + rng.normal(0.0, noise_std, size=4)
    return np.clip(action, -1.0, 1.0).astype(np.float32)


def _resolve_aim(st: SceneTask, aim: str | None, goal: Sequence[float] | None) -> tuple[str, Sequence[float] | None]:
    if aim is None or aim == st.aim:
        return st.aim, goal if goal is not None else st.goal
    if aim not in AIMS:
        raise ValueError(f"unknown aim {aim!r}: choose one of {', '.join(AIMS)}")
    missing = AIM_NEEDS[aim] - set(st.objects)
    if missing:
        raise ValueError(f"aim {aim!r} needs {sorted(missing)}, which this task's scene lacks")
    if goal is None and aim == "place_in_tray":
        tray = st.objects["tray"]
        goal = (tray.x, tray.y, 0.02)
    if goal is None and aim in ("place_puck", "reach"):
        raise ValueError(f"aim {aim!r} differs from the task's ({st.aim!r}): pass its goal point")
    return aim, goal


class ScriptedPolicy:
    """A scripted behaviour policy for data collection: the controller of ``aim`` (default: the
    task's) with Gaussian action noise ``noise_std`` (default 0.1), seeded by ``seed``.

    >>> policy = ScriptedPolicy(env.unwrapped.task, seed=0)
    >>> action = policy(obs)
    """

    def __init__(self, task: Task | SceneTask, noise_std: float = 0.1, seed: int | None = 0,
                 aim: str | None = None, goal: Sequence[float] | None = None) -> None:
        if noise_std < 0.0:
            raise ValueError(f"noise_std must be >= 0, got {noise_std}")
        self.scene_task = task if isinstance(task, SceneTask) else scene_task(task.params)
        self.aim, self.goal = _resolve_aim(self.scene_task, aim, goal)
        self.noise_std = noise_std
        self.rng = np.random.default_rng(seed)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return scripted_action(obs, self.scene_task, self.rng, self.noise_std, self.aim, self.goal)
