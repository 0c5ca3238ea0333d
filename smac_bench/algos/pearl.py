"""Offline PEARL (Rakelly et al. 2019) trained on the offline buffer only.

One update on ``T`` tasks:

* ``z ~ q(z | c)`` (reparameterised, gradient kept) feeds the critics, so the encoder learns from
  ``sum_j mean (Q_j(s, a, z) - y)^2 + kl_weight * sum_T KL(q || N(0, I))`` (PEARL sums the KL over tasks);
* ``y = reward_scale r + (1 - d) gamma (min_j Q'_j(s', a') - alpha log pi(a'|s'))`` with twin target
  critics (SAC v2 form; rlkit's PEARL used a separate V network instead);
* actor: ``mean(alpha log pi(a~|s, z) - min_j Q_j(s, a~, z)) + 1e-3 (mean(mu^2) + mean(log_std^2))`` with
  ``z`` detached and critic weights held fixed, so one backward pass of the summed loss is exact.

There is no online phase: :meth:`train_online` returns ``{}``.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from smac_bench.algos import losses
from smac_bench.algos.base import register_agent
from smac_bench.algos.config import PEARLConfig, pearl_preset
from smac_bench.algos.latent_ac import LatentActorCritic, Stats, per_transition
from smac_bench.data.buffer import Batch


class OfflinePEARLAgent(LatentActorCritic):
    """SAC + context encoder trained through the critic loss, offline only."""

    name: ClassVar[str] = "offline-pearl"
    trains_online: ClassVar[bool] = False
    config_cls = PEARLConfig
    config: PEARLConfig

    def update(self, batch: Batch, context: torch.Tensor, is_online: bool) -> Stats:
        cfg = self.config
        mu, var = self.encoder.posterior_params(context)
        z_task = losses.reparam_sample(mu, var.sqrt(), self.generator)
        kl = losses.latent_kl_loss(mu, var, "sum")
        z_grad = per_transition(z_task, batch.obs.shape[1])  # the encoder learns through the critic
        z = z_grad.detach()
        flat = batch.flatten()
        critic_loss, q = self.critic_loss(flat, z_grad, self.bellman_target(flat, z, cfg.alpha))
        actor_loss = self.actor_loss(flat, z)
        self.step(critic_loss + cfg.kl_weight * kl + actor_loss)
        return {"critic_loss": critic_loss.detach(), "actor_loss": actor_loss.detach(), "kl": kl.detach(),
                "q_mean": q.detach().mean()}

    def critic_loss(self, flat: Batch, z_grad: torch.Tensor,
                    target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``sum_j mean (Q_j(s, a, z) - y)^2`` with ``z`` carrying the encoder's gradient; also ``Q``."""
        q = self.critic(torch.cat([flat.obs, flat.actions, z_grad], -1))
        return losses.critic_loss(q, target), q

    def actor_loss(self, flat: Batch, z: torch.Tensor) -> torch.Tensor:
        """SAC actor loss on a reparameterised sample (critic weights fixed) plus PEARL's regulariser."""
        cfg = self.config
        mean, log_std = self.policy(torch.cat([flat.obs, z], -1))
        pre = losses.reparam_sample(mean, log_std.exp(), self.generator)
        log_pi = losses.tanh_gaussian_log_prob(pre, mean, log_std)
        q_pi = self.critic(torch.cat([flat.obs, torch.tanh(pre), z], -1), detach_weights=True).amin(0)
        return (losses.sac_policy_loss(log_pi, q_pi, cfg.alpha)
                + losses.gaussian_regulariser(mean, log_std, cfg.policy_mean_reg, cfg.policy_std_reg))


register_agent("offline-pearl", pearl_preset)(OfflinePEARLAgent)
