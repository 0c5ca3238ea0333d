"""The Sawyer manipulation meta-task domain (``sawyer-manip``).

* :mod:`~smac_bench.envs.sawyer.scene` — composes Meta-World's Sawyer, table and object assets with
  ``mujoco.MjSpec`` (one compiled model per object set, cached).
* :mod:`~smac_bench.envs.sawyer.tasks` — the task space (objects, poses, aim) and the frozen split.
* :mod:`~smac_bench.envs.sawyer.env` — :class:`SawyerManipEnv`, ``smac_bench/SawyerManip-v0``.
* :mod:`~smac_bench.envs.sawyer.scripted` — waypoint controllers for every aim.

This module stays free of heavy imports: ``smac_bench.envs`` calls :func:`default_gl_backend`
before anything imports ``mujoco`` (MuJoCo picks its OpenGL backend once, at import).
"""

from __future__ import annotations

import os


def default_gl_backend() -> None:
    """Pick a headless OpenGL backend for ``render_mode="rgb_array"`` unless the user chose one.

    Without a display MuJoCo's default (GLFW) cannot open a context; OSMesa (Debian package
    ``libosmesa6``) renders in software everywhere. ``MUJOCO_GL`` set by the user always wins.
    """
    if "MUJOCO_GL" not in os.environ and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["MUJOCO_GL"] = "osmesa"
