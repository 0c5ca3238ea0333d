"""SMAC (Pong et al. 2022): an AWAC actor-critic on ``z`` from an encoder trained by reward decoding.

Offline phase, one gradient update on ``T = meta_batch`` tasks (all tensors batched over tasks):

1. Context ``c [T, C, s+a+r]`` -> ``q(z | c)`` (product of per-transition Gaussians);
   ``z ~ q`` by reparameterisation, one ``z`` per task.
2. Encoder + reward decoder: ``L_enc = mean (r_hat(s, a, z) - r)^2 + kl_weight * mean_T KL(q || N(0, I))``.
   The encoder gets *no* critic gradient (``z`` is detached everywhere else).
3. Critics: ``sum_j mean (Q_j(s, a, z) - y)^2`` with
   ``y = reward_scale * r + (1 - d) gamma (min_j Q'_j(s', a') - alpha log pi(a'|s'))``, ``a' ~ pi(.|s', z)``.
4. AWAC actor: ``-sum_n w_n log pi(a_n | s_n, z)`` with ``w = softmax_n((min_j Q_j(s, a) - V(s)) / beta)``
   over the whole ``T * B`` batch and ``V(s) = min_j Q_j(s, a~)``, ``a~ ~ pi(.|s, z)`` (or, with
   ``awac_whiten``, rlkit's whitened ``exp`` weights; with ``awac_advantage="episode_return"``, weights from
   the returns of the transitions' episodes, a departure for sparse rewards). ``awac_weight_max`` (the largest
   normalised weight; uniform ``1/N``) and ``awac_ess`` (effective sample size; uniform ``N``) say whether they select.

The three losses touch disjoint parameters and none feeds another's gradient: two backward passes
(critic with encoder and decoder; actor) fill disjoint gradients and one (multi-group) Adam step
applies them — exactly the separate updates. The two passes need each other only for the Bellman
target and ``Q(s, a)``, so on two CPU cores they can run side by side (:meth:`SMACAgent.use_halves`,
:func:`~smac_bench.algos.halves.run_update_halves`).

Online (self-supervised) phase: see :mod:`smac_bench.algos.online`; encoder and decoder are frozen,
rewards of new transitions are the decoder's labels, the actor adds ``-online_reparam_weight * Q(s, a~)``;
with ``online_awac_advantage="episode_return"`` its weights come from the online episodes' labelled returns
(a departure from rlkit's ``rlkit/torch/smac/smac.py``, which weighs online data by the critic, for sawyer-manip).
The networks, sampling and checkpoints live in :mod:`smac_bench.algos.latent_ac`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from smac_bench.algos import losses, online
from smac_bench.algos.base import OnlineSetting, register_agent
from smac_bench.algos.config import SMACConfig, smac_preset
from smac_bench.algos.halves import Halves, Handoff, run_update_halves
from smac_bench.algos.latent_ac import LatentActorCritic, Stats, per_transition
from smac_bench.data.buffer import Batch, MultiTaskBuffer


class SMACAgent(LatentActorCritic):
    """SMAC: AWAC actor-critic on ``z`` from an encoder trained by reward decoding; self-labelled online phase."""

    name: ClassVar[str] = "smac"
    supports_halves: ClassVar[bool] = True
    offline_phase: ClassVar[str | None] = "smac"  # the oracle inherits it: same offline phase
    config_cls = SMACConfig
    uses_decoder = True
    config: SMACConfig
    halves: Halves | None = None
    """Set by :meth:`use_halves`: runs each update's two halves on two threads."""

    def use_halves(self, enabled: bool = True) -> None:
        """Run the critic and actor halves of each update on two threads (see :mod:`~smac_bench.algos.halves`).

        Meant for 2 CPU cores with ``torch.set_num_threads(1)``; results are bit-identical either way.
        """
        if self.halves is not None and not enabled:
            self.halves.close()
        self.halves = Halves() if enabled else None

    # ------------------------------------------------------------------ the update
    def update(self, batch: Batch, context: torch.Tensor, is_online: bool) -> Stats:
        cfg = self.config
        # Task inference; encoder and decoder learn offline only, from reward MSE + KL (never the critic).
        with torch.set_grad_enabled(not is_online):
            mu, var = self.encoder.posterior_params(context)
            z_task = losses.reparam_sample(mu, var.sqrt(), self.generator)  # [T, L]
        z = per_transition(z_task.detach(), batch.obs.shape[1])
        flat = batch.flatten()
        target, q_data = Handoff(), Handoff()  # the critic half waits for the target, the actor half for Q(s, a)

        def bellman() -> None:
            target.put(self.bellman_target(flat, z, cfg.alpha))

        def critic_half() -> Stats:
            context_loss, stats = ((torch.zeros((), device=self.device), {}) if is_online
                                   else self.context_loss(batch, mu, var, z_task))
            q = self.critic(torch.cat([flat.obs, flat.actions, z], -1))  # [2, N, 1]
            q_data.put(q.detach().amin(0))
            critic_loss = losses.critic_loss(q, target.result())
            (context_loss + critic_loss).backward()
            return {**stats, "critic_loss": critic_loss.detach(), "q_mean": q.detach().mean()}

        advantage = cfg.online_awac_advantage if is_online else cfg.awac_advantage
        returns = batch.episode_returns if advantage == "episode_return" else None
        if advantage == "episode_return" and returns is None:
            raise ValueError("episode-return weights need every batch source to keep episode returns")

        def actor_half() -> Stats:
            actor_loss, stats = self.actor_loss(flat, z, q_data, is_online, returns)
            actor_loss.backward()
            return stats

        self.optimizer.zero_grad(set_to_none=True)
        critic_stats, actor_stats = run_update_halves(self.halves, bellman, critic_half, actor_half,
                                                      [target, q_data])
        self.apply_gradients()
        return {**critic_stats, **actor_stats}

    def context_loss(self, batch: Batch, mu: torch.Tensor, var: torch.Tensor,
                     z_task: torch.Tensor) -> tuple[torch.Tensor, Stats]:
        """Encoder + decoder loss ``kl_weight * mean_T KL(q || N(0, I)) + mean (r_hat(s, a, z) - r)^2``
        (or the Bernoulli decoder's cross-entropy, ``decoder_loss="bernoulli"``)."""
        t, b, _ = batch.obs.shape
        kl = losses.latent_kl_loss(mu, var, "mean")
        out = self.decoder(batch.obs, batch.actions, z_task[:, None].expand(t, b, -1))
        if self.config.decoder_loss == "bernoulli":
            reward_loss = losses.bernoulli_reward_loss(out, batch.rewards, *self.config.binary_rewards)
        else:
            reward_loss = losses.mse(out, batch.rewards)
        return self.config.kl_weight * kl + reward_loss, {"kl": kl.detach(), "reward_loss": reward_loss.detach()}

    def actor_loss(self, flat: Batch, z: torch.Tensor, q_data: Handoff, is_online: bool,
                   episode_returns: torch.Tensor | None = None) -> tuple[torch.Tensor, Stats]:
        """AWAC: ``-sum_n w_n log pi(a_n | s_n, z)``, plus the entropy term and, online, ``-Q(s, a~)``.

        ``q_data`` brings ``min_j Q_j(s, a)`` at the dataset actions from the critic half; with
        ``episode_returns`` (``[T, B, 1]``, ``awac_advantage`` / ``online_awac_advantage`` ``"episode_return"``) the
        weights come from them.
        """
        cfg = self.config
        mean, log_std = self.policy(torch.cat([flat.obs, z], -1))
        if cfg.actor_likelihood == "action_gaussian":
            log_prob_data = losses.action_gaussian_log_prob(flat.actions, mean, log_std)
        else:
            log_prob_data = losses.tanh_gaussian_log_prob(losses.atanh_clipped(flat.actions), mean, log_std)
        # V(s) from one policy sample, critic weights held fixed (the -Q term online reaches the actor only).
        reparam = is_online and cfg.online_reparam_weight > 0
        with torch.set_grad_enabled(reparam or cfg.alpha > 0):
            pre = losses.reparam_sample(mean, log_std.exp(), self.generator)
            q_pi = self.critic(torch.cat([flat.obs, torch.tanh(pre), z], -1), detach_weights=True).amin(0)
        weigh = losses.awac_whitened_weights if cfg.awac_whiten else losses.awac_weights
        beta = cfg.online_awac_beta if is_online and cfg.online_awac_beta is not None else cfg.awac_beta
        weights = (weigh(q_data.result(), q_pi, beta) if episode_returns is None
                   else losses.episode_return_weights(episode_returns, beta, cfg.awac_per_task))
        loss = losses.awac_policy_loss(log_prob_data, weights)
        if cfg.alpha > 0:
            loss = loss + cfg.alpha * losses.tanh_gaussian_log_prob(pre, mean, log_std).mean()
        if reparam:
            loss = loss - cfg.online_reparam_weight * q_pi.mean()
        weight_max, ess = losses.weight_stats(weights)
        return loss, {"actor_loss": loss.detach(), "awac_weight_max": weight_max, "awac_ess": ess}

    def train_offline(self, buffer: MultiTaskBuffer, num_updates: int) -> dict[str, float]:
        if self.config.awac_advantage == "episode_return" and buffer.episode_returns is None:
            buffer.keep_episode_returns()
        return super().train_offline(buffer, num_updates)

    # ------------------------------------------------------------------ the online phase
    def label_rewards(self, rollout: online.Rollout) -> np.ndarray:
        """Self-supervised labels ``r_hat(s, a, z_label)``; the env's reward is never read."""
        with torch.no_grad():
            obs, act, z = (torch.as_tensor(x, device=self.device) for x in (rollout.obs, rollout.actions,
                                                                             rollout.label_z))
            out = self.decoder(obs, act, z)
            if self.config.decoder_loss == "bernoulli":
                out = losses.bernoulli_reward_mean(out, *self.config.binary_rewards)
            return out.cpu().numpy()

    @property
    def online_steps_per_iteration(self) -> int:
        """Env steps of one online iteration (exact: each phase cuts its last episode at its budget).

        ``train_online`` runs whole iterations, so schedules that ask for multiples of this collect
        exactly what they ask for and resume bit-identically.
        """
        cfg = self.config
        return cfg.online_tasks_per_iter * (cfg.online_prior_steps + cfg.online_posterior_steps)

    def train_online(self, setting: OnlineSetting, num_env_steps: int) -> dict[str, float]:
        return online.train_online(self, setting, int(num_env_steps))


register_agent("smac", smac_preset)(SMACAgent)
