"""The ``sawyer-manip`` task space and its frozen train/test split.

A task is (objects present, their poses, the aim). Aims:

* ``press_button``  — push the button in (needs ``button``);
* ``open_drawer``   — pull the drawer out (needs ``drawer``; it starts shut);
* ``close_drawer``  — push the drawer shut (needs ``drawer``; it starts open);
* ``place_puck``    — bring the puck to a hidden goal point in the air (needs ``puck``);
* ``place_in_tray`` — bring the puck into the tray, goal = tray centre on the table (``puck``, ``tray``);
* ``reach``         — move the hand to a hidden goal point.

Held-out by construction: the table is cut into square cells of :data:`CELL` metres coloured like a
chessboard; the anchor (centre) of every object and goal of a training task lies in a white cell,
of a test task in a black cell, and no anchor lies within :data:`CELL_GAP` of a cell's edge, so a
test anchor is at least ``2 * CELL_GAP`` from every training anchor (measured: 8.3 cm at least,
11 cm median to the nearest). Test scenes also use object combinations no training task has.
Objects never overlap: each has an oriented rectangular footprint that includes the room the hand
and the opened drawer need, and footprints keep :data:`MARGIN` apart.

The frozen task list ``sawyer-manip`` (:func:`generate_v2`, env ``smac_bench/SawyerManip-v1``) lays
out 308 tables (300 train, 8 test) and puts 4-5 *sibling* tasks on each (:func:`sibling_aims`), which
only the reward tells apart. Its first 155 tasks are v1's (:func:`generate_v1`: 30 training and the
8 test tables) with their ids; v2 appends 270 training tables (ids 155-1234), because with 30 the told
bound itself solved a fifth of the held-out tasks (issue #18). (v0, retired, gave every task its own
layout, so the observation named the task.) Never regenerate it: ``generate_v2().to_json()`` must equal
the pinned file.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from smac_bench.envs.family import Task, TaskFamily
from smac_bench.envs.sawyer.scene import DRAWER_TRAVEL, HAND_INIT_POS, OBJECT_KINDS

AIMS: tuple[str, ...] = ("press_button", "open_drawer", "close_drawer", "place_puck", "place_in_tray", "reach")
AIM_NEEDS: dict[str, frozenset[str]] = {
    "press_button": frozenset({"button"}),
    "open_drawer": frozenset({"drawer"}),
    "close_drawer": frozenset({"drawer"}),
    "place_puck": frozenset({"puck"}),
    "place_in_tray": frozenset({"puck", "tray"}),
    "reach": frozenset(),
}
TRAIN_COMBOS: tuple[tuple[str, ...], ...] = (
    ("button", "drawer"), ("button", "puck"), ("drawer", "tray"), ("puck", "tray"),
    ("button", "drawer", "puck"), ("button", "drawer", "tray"), ("button", "puck", "tray"),
    ("drawer", "puck", "tray"),
)
TEST_COMBOS: tuple[tuple[str, ...], ...] = (
    ("button", "drawer", "puck", "tray"), ("button", "tray"), ("drawer", "puck"),
)
CELL = 0.25  # side of a chessboard cell (m)
CELL_GAP = 0.04  # no anchor this close to a cell edge (m): a no-man's land between the splits
MARGIN = 0.02  # minimum gap between footprints (m)
TABLE_X = (-0.5, 0.5)  # where footprints may lie (m): inside the reach of the arm
TABLE_Y = (0.36, 0.98)
MAX_YAW = 0.26  # |yaw| of the button box and drawer (rad, ~15 degrees)
# Footprint (xmin, xmax, ymin, ymax) in each object's frame; the front (-y) faces the robot and
# includes the button and the hand in front of it, and the opened drawer plus the hand.
FOOTPRINT: dict[str, tuple[float, float, float, float]] = {
    "button": (-0.13, 0.13, -0.30, 0.12),
    "drawer": (-0.13, 0.13, -0.42, 0.11),
    "puck": (-0.06, 0.06, -0.06, 0.06),
    "tray": (-0.08, 0.08, -0.08, 0.08),
    "goal": (-0.05, 0.05, -0.05, 0.05),
}
# Where anchors are drawn, (xmin, ymin) - (xmax, ymax). The arm reaches down to the table (hand at
# z = 0.05) only for y <= ~0.76 (measured): pucks, trays and low goals stay in that band.
ANCHOR_BOUNDS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "button": ((TABLE_X[0], TABLE_Y[0]), (TABLE_X[1], TABLE_Y[1])),
    "drawer": ((TABLE_X[0], TABLE_Y[0]), (TABLE_X[1], TABLE_Y[1])),
    "puck": ((-0.4, 0.42), (0.4, 0.74)),
    "tray": ((-0.4, 0.42), (0.4, 0.74)),
    "place_puck": ((-0.4, 0.42), (0.4, 0.74)),
    "reach": ((-0.45, 0.40), (0.45, 0.80)),
}
GOAL_Z = {"place_puck": (0.05, 0.2), "reach": (0.1, 0.3)}
MAX_CARRY = 0.6  # horizontal puck-to-goal distance (m) that fits a 200-step episode with noise
DRAWER_OPEN_INIT = (0.12, DRAWER_TRAVEL)  # opening of a drawer that starts open (m)


@dataclass(frozen=True)
class ObjectPose:
    """Pose of one object on the table: anchor ``(x, y)`` on the table top, yaw about z, and the
    drawer's initial opening in metres (0 = shut)."""

    x: float
    y: float
    yaw: float = 0.0
    opening: float = 0.0


@dataclass(frozen=True)
class SceneTask:
    """Typed view of a task's params: object poses, aim and (hidden) goal point."""

    aim: str
    objects: Mapping[str, ObjectPose]
    goal: tuple[float, float, float] | None

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in OBJECT_KINDS if k in self.objects)


def scene_task(params: Mapping[str, Any]) -> SceneTask:
    """Parse ``Task.params`` of the sawyer-manip family; ``ValueError`` names what is malformed."""
    aim = params.get("aim")
    if aim not in AIMS:
        raise ValueError(f"sawyer-manip task has aim {aim!r}: expected one of {', '.join(AIMS)}")
    objects = {}
    for kind, pose in dict(params.get("objects", {})).items():
        if kind not in OBJECT_KINDS:
            raise ValueError(f"sawyer-manip task has object {kind!r}: expected one of {', '.join(OBJECT_KINDS)}")
        objects[kind] = ObjectPose(float(pose["pos"][0]), float(pose["pos"][1]),
                                   float(pose.get("yaw", 0.0)), float(pose.get("opening", 0.0)))
    missing = AIM_NEEDS[aim] - set(objects)
    if missing:
        raise ValueError(f"sawyer-manip aim {aim!r} needs objects {sorted(missing)} that the task lacks")
    goal = params.get("goal")
    if goal is None and aim in ("place_puck", "place_in_tray", "reach"):
        raise ValueError(f"sawyer-manip aim {aim!r} needs a goal point")
    return SceneTask(aim, objects, None if goal is None else (float(goal[0]), float(goal[1]), float(goal[2])))


def cell_colour(x: float, y: float) -> int:
    """Chessboard colour of the table cell holding ``(x, y)``: 0 = train (white), 1 = test (black),
    -1 within :data:`CELL_GAP` of a cell edge (used by neither split)."""
    i, j = math.floor(x / CELL), math.floor(y / CELL)
    u, v = x / CELL - i, y / CELL - j
    if min(u, 1.0 - u, v, 1.0 - v) * CELL < CELL_GAP:
        return -1
    return (i + j) % 2


def anchors(task: SceneTask) -> list[tuple[str, float, float]]:
    """``(name, x, y)`` of every object anchor and the goal (when it has one of its own)."""
    points = [(k, p.x, p.y) for k, p in task.objects.items()]
    if task.goal is not None and task.aim != "place_in_tray":
        points.append(("goal", task.goal[0], task.goal[1]))
    return points


def footprint_corners(kind: str, x: float, y: float, yaw: float, grow: float = 0.0) -> np.ndarray:
    """The 4 world-frame corners (4x2) of a footprint, grown by ``grow`` on every side."""
    x0, x1, y0, y1 = FOOTPRINT[kind]
    local = np.array([[x0 - grow, y0 - grow], [x1 + grow, y0 - grow], [x1 + grow, y1 + grow], [x0 - grow, y1 + grow]])
    c, s = math.cos(yaw), math.sin(yaw)
    return local @ np.array([[c, s], [-s, c]]) + np.array([x, y])


def rectangles_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test for two convex quadrilaterals given by their corners (4x2): they overlap
    iff their projections overlap on every edge normal of both."""
    for poly in (a, b):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() < pb.min() or pb.max() < pa.min():
                return False
    return True


def _on_table(corners: np.ndarray) -> bool:
    return bool((corners[:, 0] >= TABLE_X[0]).all() and (corners[:, 0] <= TABLE_X[1]).all()
                and (corners[:, 1] >= TABLE_Y[0]).all() and (corners[:, 1] <= TABLE_Y[1]).all())


def _place(kind: str, bounds: str, colour: int, placed: list[np.ndarray], rng: np.random.Generator,
           rotates: bool) -> tuple[float, float, float] | None:
    """Rejection-sample an anchor for ``kind`` within ``ANCHOR_BOUNDS[bounds]`` in a cell of
    ``colour``, its footprint on the table and clear of ``placed``."""
    for _ in range(400):
        x, y = (round(float(v), 4) for v in rng.uniform(*ANCHOR_BOUNDS[bounds]))
        yaw = round(float(rng.uniform(-MAX_YAW, MAX_YAW)), 4) if rotates else 0.0
        if cell_colour(x, y) != colour:
            continue
        corners = footprint_corners(kind, x, y, yaw)
        if not _on_table(corners):
            continue
        grown = footprint_corners(kind, x, y, yaw, grow=MARGIN)
        if any(rectangles_overlap(grown, other) for other in placed):
            continue
        placed.append(corners)
        return x, y, yaw
    return None


# ---------------------------------------------------------------------------------------- v1
# v0 (retired) gave every task its own layout, so the observation (object poses, drawer state)
# named the task and every network learned layout -> aim. In v1 a layout hosts a set of *siblings* that
# differ only in what the observation cannot show: the aim, and hidden goal points. Only rewards
# tell siblings apart, which is what makes the family a meta-RL problem.
SIBLINGS_V1 = 4  # siblings per layout at least: hidden-goal siblings fill up to it
TRAIN_LAYOUTS_V1, TEST_LAYOUTS_V1 = 30, 8  # 120 training tasks, 35 test tasks
HAND_CLEARANCE = 0.12  # a reach goal this close to the hand's start (m) would be met at reset


def sibling_aims(combo: Sequence[str], drawer_open: bool) -> list[str]:
    """The aims of a layout's siblings: every aim its objects allow (in :data:`AIMS` order), then
    further hidden-goal siblings (another place for the puck if there is one, else another point
    to reach) until there are :data:`SIBLINGS_V1`.

    Every aim is unmet at reset: a drawer that starts open hosts ``close_drawer`` only, a shut
    one ``open_drawer`` only; goals are placed clear of where the puck and hand start.
    """
    aims = [aim for aim in AIMS if AIM_NEEDS[aim] <= set(combo)
            and aim != ("open_drawer" if drawer_open else "close_drawer")]
    extra = [a for a in ("place_puck", "reach") if a in aims]  # reach is always allowed
    for i in range(SIBLINGS_V1 - len(aims)):
        aims.append(extra[i % len(extra)])
    return sorted(aims, key=AIMS.index)


def _hidden_goal(aim: str, objects: Mapping[str, Any], colour: int, placed: list[np.ndarray],
                 rng: np.random.Generator) -> list[float] | None:
    """A goal point for ``aim`` in a cell of ``colour``, clear of every footprint and goal in
    ``placed`` (so siblings' goals lie >= 12 cm apart), within carrying range of the puck and away
    from the hand's start; ``None`` if none fits."""
    for _ in range(50):
        spot = _place("goal", aim, colour, placed, rng, rotates=False)
        if spot is None:
            return None
        goal = [spot[0], spot[1], round(float(rng.uniform(*GOAL_Z[aim])), 4)]
        if aim == "place_puck" and math.dist(objects["puck"]["pos"], goal[:2]) > MAX_CARRY:
            placed.pop()
            continue
        if aim == "reach" and math.dist(goal, HAND_INIT_POS) < HAND_CLEARANCE:
            placed.pop()
            continue
        return goal
    return None


def sample_layout_v1(combo: Sequence[str], colour: int, drawer_open: bool,
                     rng: np.random.Generator) -> list[dict[str, Any]]:
    """Params of every sibling of one layout: ``combo`` laid out in cells of ``colour`` (footprints
    rejection-sampled clear of each other), the drawer (if any) open or shut for all of them, and
    each hidden-goal sibling's own goal point."""
    for _ in range(200):
        placed: list[np.ndarray] = []
        objects: dict[str, dict[str, Any]] = {}
        for kind in combo:  # big objects first: they are the hardest to fit
            pose = _place(kind, kind, colour, placed, rng, rotates=kind in ("button", "drawer"))
            if pose is None:
                break
            objects[kind] = {"pos": [pose[0], pose[1]]}
            if kind in ("button", "drawer"):
                objects[kind]["yaw"] = pose[2]
        else:
            if "drawer" in objects:
                opening = rng.uniform(*DRAWER_OPEN_INIT) if drawer_open else 0.0
                objects["drawer"]["opening"] = round(float(opening), 4)
            if "tray" in objects and "puck" in objects \
                    and math.dist(objects["puck"]["pos"], objects["tray"]["pos"]) > MAX_CARRY:
                continue
            siblings = []
            for aim in sibling_aims(combo, drawer_open):
                goal = None
                if aim == "place_in_tray":
                    goal = [*objects["tray"]["pos"], 0.02]
                elif aim in GOAL_Z:
                    goal = _hidden_goal(aim, objects, colour, placed, rng)
                    if goal is None:
                        break
                siblings.append({"aim": aim, "objects": objects, "goal": goal})
            else:
                return siblings
    raise RuntimeError(f"could not lay out {combo} with its siblings in colour-{colour} cells")


def _split_layouts(n: int, combos: Sequence[tuple[str, ...]], colour: int, first_layout: int,
                   rng: np.random.Generator) -> list[dict[str, Any]]:
    """Sibling params of ``n`` layouts whose combos cycle through ``combos``; each task records its
    ``layout`` index (siblings share it and are contiguous). Drawers start shut and open in turn,
    so open_drawer and close_drawer get as many layouts each."""
    tasks, drawers = [], 0
    for i in range(n):
        combo = combos[i % len(combos)]
        drawer_open = "drawer" in combo and drawers % 2 == 1
        drawers += "drawer" in combo
        for params in sample_layout_v1(combo, colour, drawer_open, rng):
            tasks.append({**params, "layout": first_layout + i})
    return tasks


def generate_v1(seed: int = 2025) -> TaskFamily:
    """``sawyer-manip``: :data:`TRAIN_LAYOUTS_V1` training layouts (white cells,
    :data:`TRAIN_COMBOS`) and :data:`TEST_LAYOUTS_V1` test layouts (black cells,
    :data:`TEST_COMBOS`), each hosting its siblings (:func:`sibling_aims`); training ids first."""
    rng = np.random.default_rng(seed)
    train = _split_layouts(TRAIN_LAYOUTS_V1, TRAIN_COMBOS, 0, 0, rng)
    test = _split_layouts(TEST_LAYOUTS_V1, TEST_COMBOS, 1, TRAIN_LAYOUTS_V1, rng)
    return TaskFamily(
        name="sawyer-manip",
        env_id="smac_bench/SawyerManip-v1",
        tasks=tuple(Task(k, p) for k, p in enumerate(train + test)),
        train_ids=tuple(range(len(train))),
        test_ids=tuple(range(len(train), len(train) + len(test))),
        max_episode_steps=200,
        seed=seed,
        description="Sawyer gripper, tasks that share layouts: each table layout hosts 4-5 sibling tasks "
        "(press, open/close, place in tray, place the puck at or reach hidden points) that only the "
        "reward tells apart; held-out object sets and table cells",
        extra={
            "aims": list(AIMS),
            "min_siblings": SIBLINGS_V1,
            "train_layouts": TRAIN_LAYOUTS_V1,
            "test_layouts": TEST_LAYOUTS_V1,
            "train_combos": [list(c) for c in TRAIN_COMBOS],
            "test_combos": [list(c) for c in TEST_COMBOS],
            "cell_m": CELL,
            "cell_gap_m": CELL_GAP,
            "train_cell_colour": 0,
            "test_cell_colour": 1,
        },
    )


# ---------------------------------------------------------------------------------------- v2
# v1's 30 training tables were too few to learn manipulation that transfers to a new table: told the
# task, behaviour cloning solved 22 % of held-out tasks, 63 % with 300 tables (issue #18,
# baselines/sawyer-manip-remedies/). v2 keeps every v1 task and id (so held-out tasks and v1 results stay
# comparable) and appends more training tables drawn the same way from their own stream.
EXTRA_TRAIN_LAYOUTS_V2 = 270  # 300 training layouts, 1,200 training tasks
EXTRA_LAYOUT_SEED_V2 = 9


def generate_v2(seed: int = 2025) -> TaskFamily:
    """``sawyer-manip`` v2: :func:`generate_v1`'s tasks and ids, then :data:`EXTRA_TRAIN_LAYOUTS_V2`
    training layouts (white cells, :data:`TRAIN_COMBOS`, drawn with :data:`EXTRA_LAYOUT_SEED_V2`) as
    training tasks with the next ids. Held-out tasks are v1's, still ids 120-154."""
    v1 = generate_v1(seed)
    first_layout = TRAIN_LAYOUTS_V1 + TEST_LAYOUTS_V1
    params = _split_layouts(EXTRA_TRAIN_LAYOUTS_V2, TRAIN_COMBOS, 0, first_layout,
                            np.random.default_rng(EXTRA_LAYOUT_SEED_V2))
    first_id = len(v1.tasks)
    extra_ids = tuple(range(first_id, first_id + len(params)))
    train_layouts = TRAIN_LAYOUTS_V1 + EXTRA_TRAIN_LAYOUTS_V2
    return dataclasses.replace(
        v1,
        tasks=v1.tasks + tuple(Task(k, p) for k, p in zip(extra_ids, params, strict=True)),
        train_ids=v1.train_ids + extra_ids,
        description=v1.description.replace("Sawyer gripper,", f"Sawyer gripper, {train_layouts} training tables,"),
        extra={**v1.extra, "task_list_version": 2, "train_layouts": train_layouts,
               "extra_layout_seed": EXTRA_LAYOUT_SEED_V2},
    )
