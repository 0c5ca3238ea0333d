"""The Sawyer manipulation meta-task domain (``sawyer-manip``).

* :mod:`~smac_bench.envs.sawyer.scene` — composes Meta-World's Sawyer, table and object assets with
  ``mujoco.MjSpec`` (one compiled model per object set, cached).
* :mod:`~smac_bench.envs.sawyer.tasks` — the task space (layouts, sibling aims, hidden goals) and the frozen split.
* :mod:`~smac_bench.envs.sawyer.env` — :class:`SawyerManipV1Env`, ``smac_bench/SawyerManip-v1``.
* :mod:`~smac_bench.envs.sawyer.scripted` — waypoint controllers for every aim.

Rendering picks its OpenGL backend on first use (:mod:`smac_bench.envs.render`), so nothing here
needs a GL library until a frame is asked for.
"""
