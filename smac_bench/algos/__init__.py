"""smac-bench algorithms: importing this package registers the reference agents.

* ``"smac"`` — :class:`~smac_bench.algos.smac.SMACAgent`
* ``"oracle"`` — :class:`~smac_bench.algos.oracle.OracleAgent` (true rewards online)
* ``"offline-pearl"`` — :class:`~smac_bench.algos.pearl.OfflinePEARLAgent`
* ``"bc"``, ``"bc-task"`` — :mod:`~smac_bench.algos.bc`: behaviour-cloning bounds (context-free, and told
  the task), not meta-RL agents (issue #18)

The first three are :class:`~smac_bench.algos.latent_ac.LatentActorCritic` s; ``sac.py`` is the
task-aware SAC the dataset recipes use, not a registered agent.
"""

from smac_bench.algos import bc, oracle, pearl, smac  # noqa: F401  (registration side effects)
from smac_bench.algos.base import (
    AGENTS,
    Agent,
    AgentEntry,
    OnlineSetting,
    agent_config,
    make_agent,
    register_agent,
    registered_agent,
)
from smac_bench.algos.config import LatentACConfig, PEARLConfig, SMACConfig
from smac_bench.presets import PRESETS

__all__ = ["AGENTS", "PRESETS", "Agent", "AgentEntry", "LatentACConfig", "OnlineSetting", "PEARLConfig",
           "SMACConfig", "agent_config", "make_agent", "register_agent", "registered_agent"]
