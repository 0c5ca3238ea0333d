"""How an agent draws ``z`` while it explores and in the episode it is scored on: the agent's decision.

The same rule runs in the agent's online collection (:mod:`smac_bench.algos.online`) and in the
``K`` exploration episodes and the final episode of evaluation protocol v2
(:mod:`smac_bench.harness.evaluate`), so an agent is scored on the kind of context it trained on.

rlkit's SMAC (``rlkit/torch/smac/sampler.py``, ``rollout``): ``z`` is redrawn every
``exploration_resample_latent_period = 1`` env steps (``rlkit/torch/smac/base_config.py``), from the
prior while exploring — the posterior is not updated between exploration episodes
(``MetaRLAlgorithm.collect_paths`` in ``rlkit/core/meta_rl_algorithm.py`` passes
``update_posterior_period=0``) — and, in the final episode, from the posterior of the exploration
episodes' context, again every env step. Departures a family may set (sawyer-manip): a prior fitted to the
scenes of the data in place of ``N(0, I)``, and a final episode that acts again on the latent that earned reward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

FINAL_Z = ("sample", "mean")


@dataclass(frozen=True)
class ExplorationPolicy:
    """The latent-drawing rule of an agent (defaults: rlkit's SMAC and PEARL launchers)."""

    resample_period: int = 1
    """Env steps between fresh draws of ``z`` (0: one draw per episode), exploring and in the final episode."""
    final_z: str = "sample"
    """Final episode: ``"sample"`` draws ``z ~ q(z | c)`` every :attr:`resample_period` steps, ``"mean"``
    uses the posterior mean throughout (protocol v1's rule)."""
    prior: str = "standard_normal"
    """Exploration latents: ``"standard_normal"`` draws from ``N(0, I)`` as above; ``"table"`` asks the agent's
    ``exploration_latents(first_obs, episode)`` for one ``z`` per episode (:mod:`smac_bench.algos.table_prior`)."""
    replay_above: float | None = None
    """Final episode: act again on the latents of the best-returning exploration episode whose reward rose above
    this value at some step (rows where none did keep :attr:`final_z`); ``None``: never."""

    def __post_init__(self) -> None:
        if self.resample_period < 0:
            raise ValueError(f"resample_period must be >= 0, got {self.resample_period}")
        if self.final_z not in FINAL_Z:
            raise ValueError(f"final_z must be one of {FINAL_Z}, not {self.final_z!r}")
        if self.prior not in ("standard_normal", "table"):
            raise ValueError(f"prior must be standard_normal or table, not {self.prior!r}")

    def draws(self, horizon: int) -> int:
        """Fresh ``z`` draws an episode of ``horizon`` steps needs."""
        return 1 if self.resample_period == 0 else -(-horizon // self.resample_period)

    def draw_index(self, step: int) -> int:
        """Which of the episode's draws is in force at env step ``step`` (0-based)."""
        return 0 if self.resample_period == 0 else step // self.resample_period


def exploration_policy(agent: object) -> ExplorationPolicy:
    """``agent.exploration`` when the agent declares one, else rlkit's default rule."""
    policy = getattr(agent, "exploration", None)
    return policy if isinstance(policy, ExplorationPolicy) else ExplorationPolicy()


def latents_per_step(policy: ExplorationPolicy, mean: torch.Tensor, std: torch.Tensor,
                     noise: np.ndarray, horizon: int, use_mean: bool = False) -> torch.Tensor:
    """``z [N, horizon, L]`` for ``N`` episodes: ``mean + std * noise[draw_index(t)]`` at step ``t``
    (``mean`` throughout if ``use_mean``).

    ``noise [N, policy.draws(horizon), L]`` are standard normal numbers, each episode's own.
    """
    if use_mean:
        return mean[:, None].expand(-1, horizon, -1)
    index = torch.as_tensor([policy.draw_index(t) for t in range(horizon)], device=mean.device)
    eps = torch.as_tensor(noise, dtype=mean.dtype, device=mean.device)[:, index]
    return mean[:, None] + std[:, None] * eps
