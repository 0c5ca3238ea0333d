"""Moved: task features live at the envs layer, :mod:`smac_bench.envs.features` (one concept, one place).

Kept as a re-export only for code that still imports it from here (the running Ant expert recipe).
"""

from smac_bench.envs.features import task_features

__all__ = ["task_features"]
