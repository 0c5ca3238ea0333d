"""smac-bench: offline meta-RL with online self-supervision — task families, datasets, agents, harness.

``import smac_bench`` registers the Gymnasium ids of every task family (see
:mod:`smac_bench.envs`). Heavy parts (torch agents, datasets) are imported on use.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from smac_bench.envs import FAMILIES, FamilySpec, Task, TaskFamily, family_names, make_env, task_family

try:
    __version__ = version("smac-bench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["FAMILIES", "FamilySpec", "Task", "TaskFamily", "__version__", "family_names", "make_env",
           "task_family"]
