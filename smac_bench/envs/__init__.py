"""smac-bench task families and their Gymnasium environments.

Importing this module registers, with string entry points (so Minari can serialise the spec):

* ``smac_bench/CheetahVel-v0`` — :class:`smac_bench.envs.cheetah_vel.CheetahVelEnv`
* ``smac_bench/AntDir-v0`` — :class:`smac_bench.envs.ant_dir.AntDirEnv`
* ``smac_bench/AntDir-v1`` — :class:`smac_bench.envs.ant_dir.AntDirV1Env` (27-number PEARL observation;
  registered through :data:`VARIANT_IDS`: the ``ant-dir`` family's datasets still use v0)
* ``smac_bench/SawyerManip-v0`` — :class:`smac_bench.envs.sawyer.env.SawyerManipEnv`
"""

from __future__ import annotations

import gymnasium

from smac_bench.envs.family import Task, TaskFamily, family_names, task_family

# family name -> (Gymnasium id, entry point, episode length)
ENV_IDS = {
    "cheetah-vel": ("smac_bench/CheetahVel-v0", "smac_bench.envs.cheetah_vel:CheetahVelEnv", 200),
    "ant-dir": ("smac_bench/AntDir-v0", "smac_bench.envs.ant_dir:AntDirEnv", 200),
    "sawyer-manip": ("smac_bench/SawyerManip-v0", "smac_bench.envs.sawyer.env:SawyerManipEnv", 200),
}

# Further versions of a family's env, registered but not (yet) the family's default in ENV_IDS:
# ENV_IDS stays one entry per family because the harness and CLI read its keys as family names.
# family name -> tuple of (Gymnasium id, entry point, episode length)
VARIANT_IDS = {
    "ant-dir": (("smac_bench/AntDir-v1", "smac_bench.envs.ant_dir:AntDirV1Env", 200),),
}


def register_envs() -> None:
    """Register every smac-bench env id with Gymnasium (idempotent)."""
    variants = [v for vs in VARIANT_IDS.values() for v in vs]
    for env_id, entry_point, max_episode_steps in [*ENV_IDS.values(), *variants]:
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point, max_episode_steps=max_episode_steps)


def make_env(family: str, task_id: int | None = None, **kwargs) -> gymnasium.Env:
    """``gymnasium.make`` the env of a task family by its short name (e.g. ``"ant-dir"``)."""
    if family not in ENV_IDS:
        raise ValueError(f"unknown env {family!r}: choose one of {', '.join(ENV_IDS)}")
    return gymnasium.make(ENV_IDS[family][0], task_id=task_id, **kwargs)


register_envs()

__all__ = ["ENV_IDS", "VARIANT_IDS", "Task", "TaskFamily", "family_names", "make_env", "register_envs", "task_family"]
