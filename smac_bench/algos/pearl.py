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
from smac_bench.algos.smac import LatentActorCritic, Stats, _flatten
from smac_bench.data.buffer import Batch


class OfflinePEARLAgent(LatentActorCritic):
    """SAC + context encoder trained through the critic loss, offline only."""

    name: ClassVar[str] = "offline-pearl"
    trains_online: ClassVar[bool] = False
    config_cls = PEARLConfig
    config: PEARLConfig

    def _update(self, batch: Batch, context: torch.Tensor, is_online: bool) -> Stats:
        cfg = self.config
        t, b, _ = batch.obs.shape
        mu, var = self.encoder.posterior_params(context)
        z_task = losses.reparam_sample(mu, var.sqrt(), self.generator)
        kl = losses.latent_kl_loss(mu, var, "sum")
        z_grad = z_task[:, None].expand(t, b, -1).reshape(t * b, -1)
        z = z_grad.detach()
        f = _flatten(batch)
        target = self._bellman_target(f, z, cfg.alpha)
        q = self.critic(torch.cat([f["obs"], f["actions"], z_grad], -1))  # encoder learns through the critic
        critic_loss = losses.critic_loss(q, target)
        mean, log_std = self.policy(torch.cat([f["obs"], z], -1))
        pre = losses.reparam_sample(mean, log_std.exp(), self.generator)
        log_pi = losses.tanh_gaussian_log_prob(pre, mean, log_std)
        q_pi = self.critic(torch.cat([f["obs"], torch.tanh(pre), z], -1), detach_weights=True).amin(0)
        actor_loss = (losses.sac_policy_loss(log_pi, q_pi, cfg.alpha)
                      + losses.gaussian_regulariser(mean, log_std, cfg.policy_mean_reg, cfg.policy_std_reg))
        self._step(critic_loss + cfg.kl_weight * kl + actor_loss)
        return {"critic_loss": critic_loss.detach(), "actor_loss": actor_loss.detach(), "kl": kl.detach(),
                "q_mean": q.detach().mean()}


register_agent("offline-pearl", pearl_preset)(OfflinePEARLAgent)
