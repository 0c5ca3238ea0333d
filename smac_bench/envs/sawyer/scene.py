"""Sawyer scenes composed with ``mujoco.MjSpec`` from Meta-World's assets.

A scene is Meta-World's Sawyer arm (mocap-welded end effector, two-finger gripper), its table, and
a subset of four object kinds, each attached under its own prefix (MuJoCo names are global):

* ``button`` — Meta-World's button box; the button slides 0.06 m into the box along the box's +y.
* ``drawer`` — Meta-World's drawer; the drawer slides 0.16 m out along the case's -y (toward the robot).
* ``puck``   — Meta-World's pick-place cylinder (r = h/2 = 0.02 m, 0.75 kg) on a free joint.
* ``tray``   — a flat visual target zone (no collision), r = 0.07 m.

One model is compiled per object set and cached (compiling takes ~0.5 s). Object *poses* are not
compiled in: the box and drawer hang from a static ``anchor`` body whose ``model.body_pos`` /
``body_quat`` are written at reset, and the puck's pose lives in ``qpos``; so every layout of an
object set shares one model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import metaworld
import mujoco
import numpy as np

ASSET_DIR = Path(metaworld.__file__).resolve().parent / "assets"
# Meta-World's assets name files relative to assets/sawyer_xyz (e.g. "../objects/meshes/x.stl").
_ASSET_BASE = ASSET_DIR / "sawyer_xyz"

OBJECT_KINDS: tuple[str, ...] = ("button", "drawer", "puck", "tray")

HAND_INIT_POS = np.array([0.0, 0.6, 0.3])  # above every object (box top is at z = 0.24)
HAND_QUAT = np.array([1.0, 0.0, 1.0, 0.0])  # Meta-World's fixed gripper orientation (fingers along y)
MOCAP_LOW = np.array([-0.5, 0.35, 0.05])
MOCAP_HIGH = np.array([0.5, 1.0, 0.5])

BUTTON_TRAVEL = 0.06  # |range| of the button's slide joint
DRAWER_TRAVEL = 0.16  # |range| of the drawer's slide joint
BUTTON_TIP_LOCAL = (0.0, -0.1935, 0.12)  # front face of the button in the anchor frame
DRAWER_HANDLE_LOCAL = (0.0, -0.16, 0.09)  # centre of the handle bar (closed drawer), anchor frame
PUCK_RADIUS = 0.02
TRAY_RADIUS = 0.07

FRAME_SKIP = 5  # physics steps per env step, as Meta-World
PHYSICS_TIMESTEP = 0.0025  # set by Meta-World's basic_scene.xml
_SETTLE_STEPS = 50  # env steps that let the arm settle at HAND_INIT_POS (Meta-World's _reset_hand)

_BASE_XML = f"""
<mujoco model="smac_sawyer">
  <compiler angle="radian" meshdir="{_ASSET_BASE}" texturedir="{_ASSET_BASE}"/>
  <include file="{ASSET_DIR}/scene/basic_scene.xml"/>
  <include file="{ASSET_DIR}/objects/assets/xyz_base_dependencies.xml"/>
  <worldbody>
    <include file="{ASSET_DIR}/objects/assets/xyz_base.xml"/>
    <camera name="overview" pos="0.8 0.3 0.75" xyaxes="0.391 0.920 0 -0.577 0.245 0.779" fovy="55"/>
    <site name="goal" pos="0 0 -1" size="0.02" rgba="0 0.8 0 0.6"/>
  </worldbody>
  <actuator>
    <position ctrllimited="true" ctrlrange="-1 1" joint="r_close" kp="400" user="1"/>
    <position ctrllimited="true" ctrlrange="-1 1" joint="l_close" kp="400" user="1"/>
  </actuator>
  <equality><weld body1="mocap" body2="hand" solref="0.02 1"/></equality>
</mujoco>
"""


def _fragment_xml(dependencies: str, body: str) -> str:
    return (
        f'<mujoco><compiler angle="radian" meshdir="{_ASSET_BASE}" texturedir="{_ASSET_BASE}"/>'
        f'<include file="{ASSET_DIR}/objects/assets/{dependencies}"/>'
        f'<worldbody><body name="anchor">{body}</body></worldbody></mujoco>'
    )


def _absolute_asset_paths(spec: mujoco.MjSpec) -> None:
    """Rewrite relative mesh/texture files to absolute ones: an attached child keeps its file
    strings but not its meshdir, so relative paths would resolve against the parent's directory."""
    for asset in list(spec.meshes) + list(spec.textures):
        if asset.file and not Path(asset.file).is_absolute():
            asset.file = str((_ASSET_BASE / asset.file).resolve())


@cache
def _fragment(kind: str) -> mujoco.MjSpec:
    """A parsed object fragment whose root body is ``anchor`` (copy it before attaching)."""
    if kind == "button":
        spec = mujoco.MjSpec.from_string(_fragment_xml(
            "buttonbox_dependencies.xml",
            f'<body pos="0 0 0.12"><include file="{ASSET_DIR}/objects/assets/buttonbox.xml"/></body>',
        ))
        spec.body("button").add_site(name="tip", pos=[0.0, -0.1935, 0.0], size=[0.005] * 3)
    elif kind == "drawer":
        spec = mujoco.MjSpec.from_string(_fragment_xml(
            "drawer_dependencies.xml", f'<include file="{ASSET_DIR}/objects/assets/drawer.xml"/>'
        ))
        # drawer_link sits at (0, -0.01, 0.09) in the anchor frame; its handle bar at local y = -0.15.
        spec.body("drawer_link").add_site(name="handle", pos=[0.0, -0.15, 0.0], size=[0.005] * 3)
    elif kind == "puck":
        spec = mujoco.MjSpec()
        puck = spec.worldbody.add_body(name="anchor", pos=[0.0, 0.0, PUCK_RADIUS])
        puck.add_freejoint(name="free")
        # Meta-World's pick-place block: explicit mass/inertia (a body added by hand has none).
        puck.mass, puck.ipos, puck.inertia = 0.75, [0.0, 0.0, 0.0], [8.80012e-04] * 3
        puck.explicitinertial = True
        puck.add_geom(
            name="geom", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[PUCK_RADIUS, PUCK_RADIUS, 0.0],
            rgba=[0.8, 0.1, 0.1, 1.0], friction=[1.0, 0.1, 0.002], condim=4,
            solimp=[0.99, 0.99, 0.01, 0.5, 2.0], solref=[0.01, 1.0],
        )
    elif kind == "tray":
        spec = mujoco.MjSpec()
        tray = spec.worldbody.add_body(name="anchor")
        tray.add_geom(  # visual only: the puck rests on the table inside it
            name="zone", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[TRAY_RADIUS, 0.001, 0.0],
            pos=[0.0, 0.0, 0.001], rgba=[0.1, 0.3, 0.9, 0.5], contype=0, conaffinity=0,
        )
    else:
        raise ValueError(f"unknown object kind {kind!r}: choose from {', '.join(OBJECT_KINDS)}")
    _absolute_asset_paths(spec)
    return spec


def build_spec(kinds: tuple[str, ...]) -> mujoco.MjSpec:
    """The uncompiled scene with the given object kinds, each prefixed ``"<kind>/"``."""
    unknown = set(kinds) - set(OBJECT_KINDS)
    if unknown:
        raise ValueError(f"unknown object kinds {sorted(unknown)}: choose from {', '.join(OBJECT_KINDS)}")
    spec = mujoco.MjSpec.from_string(_BASE_XML)
    _absolute_asset_paths(spec)
    for kind in OBJECT_KINDS:
        if kind in kinds:
            child = _fragment(kind).copy()  # a spec attached once is consumed: attach a fresh copy
            spec.worldbody.add_frame().attach_body(child.body("anchor"), f"{kind}/", "")
    return spec


@dataclass(frozen=True)
class SceneModel:
    """A compiled scene plus the indices the env reads every step.

    ``arm_qpos`` (the first ``len(arm_qpos)`` entries of ``qpos``: 7 arm joints, 2 fingers) is the
    arm settled at :data:`HAND_INIT_POS` with an open gripper; every reset starts from it.
    """

    kinds: tuple[str, ...]
    model: mujoco.MjModel
    arm_qpos: np.ndarray
    hand_body: int
    finger_bodies: tuple[int, int]
    anchor_body: dict[str, int]
    qpos_adr: dict[str, int]  # button/drawer slide joint, puck free joint (7 numbers)
    dof_adr: dict[str, int]
    point_site: dict[str, int]  # the point an aim acts on: button tip, drawer handle
    goal_site: int


def _reset_mocap_weld(model: mujoco.MjModel) -> None:
    """Make the mocap weld hold the hand *at* the mocap pose (zero relative pose), as Meta-World
    does; the compiled weld would otherwise keep the hand's initial offset from the mocap body."""
    for i in range(model.neq):
        if model.eq_type[i] == mujoco.mjtEq.mjEQ_WELD:
            model.eq_data[i] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 5.0]


@cache
def _settled_arm_qpos() -> np.ndarray:
    """Arm + finger ``qpos`` after Meta-World's hand reset (50 env steps holding the mocap at
    :data:`HAND_INIT_POS`, gripper open), simulated once in the object-free scene."""
    model = build_spec(()).compile()
    _reset_mocap_weld(model)
    data = mujoco.MjData(model)
    for _ in range(_SETTLE_STEPS):
        data.mocap_pos[0], data.mocap_quat[0] = HAND_INIT_POS, HAND_QUAT
        data.ctrl[:] = (-1.0, 1.0)
        mujoco.mj_step(model, data, nstep=FRAME_SKIP)
    return data.qpos.copy()


@cache
def scene_model(kinds: tuple[str, ...]) -> SceneModel:
    """Compile (once per object set) and settle the scene with these object kinds."""
    kinds = tuple(k for k in OBJECT_KINDS if k in kinds)
    model = build_spec(kinds).compile()
    _reset_mocap_weld(model)

    def body(name: str) -> int:
        return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)

    def joint(name: str) -> int:
        return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)

    joint_names = {"button": "button/btnbox_joint", "drawer": "drawer/goal_slidey", "puck": "puck/free"}
    site_names = {"button": "button/tip", "drawer": "drawer/handle"}
    return SceneModel(
        kinds=kinds,
        model=model,
        arm_qpos=_settled_arm_qpos(),
        hand_body=body("hand"),
        finger_bodies=(body("rightclaw"), body("leftclaw")),
        anchor_body={k: body(f"{k}/anchor") for k in kinds},
        qpos_adr={k: int(model.jnt_qposadr[joint(n)]) for k, n in joint_names.items() if k in kinds},
        dof_adr={k: int(model.jnt_dofadr[joint(n)]) for k, n in joint_names.items() if k in kinds},
        point_site={k: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, n)
                    for k, n in site_names.items() if k in kinds},
        goal_site=mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, "goal"),
    )


def yaw_quat(yaw: float) -> np.ndarray:
    """Unit quaternion (w, x, y, z) of a rotation by ``yaw`` radians about the world z axis."""
    return np.array([math.cos(yaw / 2.0), 0.0, 0.0, math.sin(yaw / 2.0)])


def local_to_world(xy: tuple[float, float], yaw: float, local: tuple[float, ...]) -> np.ndarray:
    """World position of a point given in an anchor frame at ``(x, y, 0)`` rotated by ``yaw``:
    ``p = (x, y, 0) + R_z(yaw) @ local``."""
    c, s = math.cos(yaw), math.sin(yaw)
    lx, ly, lz = local
    return np.array([xy[0] + c * lx - s * ly, xy[1] + s * lx + c * ly, lz])
