"""The oracle: SMAC's online phase, but the online buffer stores the env's *true* rewards.

Everything else — offline training, frozen encoder/decoder online, rollouts, update schedule and
random-number streams — is identical to :class:`~smac_bench.algos.smac.SMACAgent`, so the gap
between the two isolates the cost of learning from self-generated reward labels.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from smac_bench.algos.base import register_agent
from smac_bench.algos.config import smac_preset
from smac_bench.algos.online import Rollout
from smac_bench.algos.smac import SMACAgent


class OracleAgent(SMACAgent):
    """SMAC with reward supervision in the online phase (an upper bound for self-supervision)."""

    name: ClassVar[str] = "oracle"

    def label_rewards(self, rollout: Rollout) -> np.ndarray:
        """The env's rewards, as observed."""
        return rollout.true_rewards.copy()


register_agent("oracle", smac_preset)(OracleAgent)
