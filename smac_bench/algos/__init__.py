"""smac-bench algorithms: importing this package registers the reference agents.

* ``"smac"`` — :class:`~smac_bench.algos.smac.SMACAgent`
* ``"oracle"`` — :class:`~smac_bench.algos.oracle.OracleAgent` (true rewards online)
* ``"offline-pearl"`` — :class:`~smac_bench.algos.pearl.OfflinePEARLAgent`
"""

from smac_bench.algos import oracle, pearl, smac  # noqa: F401  (registration side effects)
from smac_bench.algos.base import AGENTS, Agent, OnlineSetting, agent_config, make_agent, register_agent
from smac_bench.algos.config import LatentACConfig, PEARLConfig, SMACConfig

__all__ = ["AGENTS", "Agent", "LatentACConfig", "OnlineSetting", "PEARLConfig", "SMACConfig", "agent_config",
           "make_agent", "register_agent"]
