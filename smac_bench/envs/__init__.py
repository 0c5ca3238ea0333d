"""smac-bench task families and their Gymnasium environments.

:data:`FAMILIES` is the one registry of task families: each :class:`FamilySpec` names its env,
horizon, task generator and offline dataset. Importing this module registers, with string entry
points (so Minari can serialise the spec):

* ``smac_bench/CheetahVel-v0`` — :class:`smac_bench.envs.cheetah_vel.CheetahVelEnv`
* ``smac_bench/AntDir-v1`` — :class:`smac_bench.envs.ant_dir.AntDirEnv` (PEARL's 27-number observation;
  v0, Ant-v5's 105 numbers with contact forces, is retired with its dataset)
* ``smac_bench/SawyerManip-v1`` — :class:`smac_bench.envs.sawyer.env.SawyerManipV1Env` (table layouts
  shared by sibling tasks that only the reward tells apart; v0, one layout per task, is retired)
"""

from __future__ import annotations

import gymnasium

from smac_bench.envs.family import FamilySpec, Task, TaskFamily, family_names, task_family
from smac_bench.errors import UserError

FAMILIES: dict[str, FamilySpec] = {spec.name: spec for spec in (
    FamilySpec(
        name="cheetah-vel",
        env_id="smac_bench/CheetahVel-v0",
        entry_point="smac_bench.envs.cheetah_vel:CheetahVelEnv",
        horizon=200,
        dataset_id="smac-bench/cheetah-vel/mixed-v0",
        generator="smac_bench.envs.cheetah_vel:generate",
    ),
    FamilySpec(
        name="ant-dir",
        env_id="smac_bench/AntDir-v1",
        entry_point="smac_bench.envs.ant_dir:AntDirEnv",
        horizon=200,
        dataset_id="smac-bench/ant-dir/mixed-v1",
        generator="smac_bench.envs.ant_dir:generate",
    ),
    FamilySpec(
        name="sawyer-manip",
        env_id="smac_bench/SawyerManip-v1",
        entry_point="smac_bench.envs.sawyer.env:SawyerManipV1Env",
        horizon=200,
        dataset_id="smac-bench/sawyer-manip/scripted-v2",
        generator="smac_bench.envs.sawyer.tasks:generate_v2",
    ),
)}


def family_spec(name: str) -> FamilySpec:
    """The spec of a registered family; the one place an unknown family name is refused."""
    if name not in FAMILIES:
        raise UserError(f"unknown env {name!r}: choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name]


def register_envs() -> None:
    """Register every family's env id with Gymnasium (idempotent)."""
    for spec in FAMILIES.values():
        if spec.env_id not in gymnasium.registry:
            gymnasium.register(id=spec.env_id, entry_point=spec.entry_point, max_episode_steps=spec.horizon)


def make_env(family: str, task_id: int | None = None, **kwargs) -> gymnasium.Env:
    """``gymnasium.make`` the env of a task family by its short name (e.g. ``"ant-dir"``)."""
    return gymnasium.make(family_spec(family).env_id, task_id=task_id, **kwargs)


register_envs()

__all__ = ["FAMILIES", "FamilySpec", "Task", "TaskFamily", "family_names", "family_spec", "make_env",
           "register_envs", "task_family"]
