"""SMAC (Pong et al. 2022) and the latent-context actor-critic core it shares with the oracle and offline PEARL.

Offline phase, one gradient update on ``T = meta_batch`` tasks (all tensors batched over tasks):

1. Context ``c [T, C, s+a+r]`` -> ``q(z | c)`` (product of per-transition Gaussians);
   ``z ~ q`` by reparameterisation, one ``z`` per task.
2. Encoder + reward decoder: ``L_enc = mean (r_hat(s, a, z) - r)^2 + kl_weight * mean_T KL(q || N(0, I))``.
   The encoder gets *no* critic gradient (``z`` is detached everywhere else).
3. Critics: ``sum_j mean (Q_j(s, a, z) - y)^2`` with
   ``y = reward_scale * r + (1 - d) gamma (min_j Q'_j(s', a') - alpha log pi(a'|s'))``, ``a' ~ pi(.|s', z)``.
4. AWAC actor: ``-sum_n w_n log pi(a_n | s_n, z)`` with ``w = softmax_n((min_j Q_j(s, a) - V(s)) / beta)``
   over the whole ``T * B`` batch and ``V(s) = min_j Q_j(s, a~)``, ``a~ ~ pi(.|s, z)``.

The three losses touch disjoint parameters and none feeds another's gradient: two backward passes
(critic with encoder and decoder; actor) fill disjoint gradients and one (multi-group) Adam step
applies them — exactly the separate updates. The two passes need each other only for the Bellman
target and ``Q(s, a)``, so on two CPU cores they can run side by side (:meth:`SMACAgent.use_halves`).

Online (self-supervised) phase: see :mod:`smac_bench.algos.online`; encoder and decoder are frozen,
rewards of new transitions are the decoder's labels, the actor adds ``-online_reparam_weight * Q(s, a~)``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch.distributions import Normal

from smac_bench.algos import checkpoint, losses, online
from smac_bench.algos.base import Agent, OnlineSetting, register_agent
from smac_bench.algos.config import LatentACConfig, SMACConfig, coerce_config, smac_preset
from smac_bench.algos.encoder import ContextEncoder, RewardDecoder
from smac_bench.algos.halves import Halves, Handoff
from smac_bench.algos.networks import EnsembleMLP, TanhGaussianPolicy, polyak_update
from smac_bench.data.buffer import Batch, MultiTaskBuffer, context_dim
from smac_bench.utils.seeding import derive_seed, numpy_generator, torch_generator

Stats = dict[str, torch.Tensor]


class LatentActorCritic(Agent):
    """Networks, sampling, acting, inference and checkpoints shared by SMAC, the oracle and offline PEARL.

    Subclasses set :attr:`name`, :attr:`config_cls`, :attr:`uses_decoder` and implement :meth:`_update`.
    Randomness: network init uses ``derive_seed(seed, "init")`` (built on CPU, then moved, so weights
    do not depend on the device); training draws from :attr:`generator`, ``act`` from
    :attr:`act_generator` (evaluation never shifts training's random numbers), env seeds from
    :attr:`np_rng`. The global torch/numpy RNGs are never used.
    """

    config_cls: ClassVar[type[LatentACConfig]] = LatentACConfig
    uses_decoder: ClassVar[bool] = False

    def __init__(self, obs_dim: int, act_dim: int, config: LatentACConfig | dict, seed: int,
                 device: str | torch.device = "cpu") -> None:
        self.config = cfg = coerce_config(config, self.config_cls)
        self.obs_dim, self.act_dim, self.seed = int(obs_dim), int(act_dim), int(seed)
        self.latent_dim = cfg.latent_dim
        self.context_dim = context_dim(self.obs_dim, self.act_dim)
        self.device = torch.device(device)
        z_in = self.obs_dim + self.act_dim + cfg.latent_dim
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(seed, "init"))
            self.encoder = ContextEncoder(self.context_dim, cfg.encoder_hidden, cfg.latent_dim)
            self.decoder = (RewardDecoder(self.obs_dim, self.act_dim, cfg.latent_dim, cfg.decoder_hidden)
                            if self.uses_decoder else None)
            self.policy = TanhGaussianPolicy(self.obs_dim + cfg.latent_dim, cfg.policy_hidden, self.act_dim)
            self.critic = EnsembleMLP(2, z_in, cfg.critic_hidden, 1)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        for module in self.modules().values():
            module.to(self.device)
        context_params = list(self.encoder.parameters())
        if self.decoder is not None:
            context_params += list(self.decoder.parameters())
        # One Adam, three groups: identical to separate optimisers, one fused kernel launch per step.
        self.optimizer = torch.optim.Adam(
            [{"params": context_params, "lr": cfg.context_lr},
             {"params": list(self.critic.parameters()), "lr": cfg.critic_lr},
             {"params": list(self.policy.parameters()), "lr": cfg.policy_lr}],
            fused=self.device.type in ("cpu", "cuda"),
        )
        self.generator = torch_generator(derive_seed(seed, "train"), self.device)
        self.act_generator = torch_generator(derive_seed(seed, "act"), self.device)
        self.np_rng: np.random.Generator = numpy_generator(derive_seed(seed, "env"))
        self.num_updates = 0
        self.num_env_steps = 0
        self.online_buffer: MultiTaskBuffer | None = None
        self.last_rollouts: list[online.Rollout] = []

    # ------------------------------------------------------------------ structure
    def modules(self) -> dict[str, torch.nn.Module]:
        """Every network by name (the checkpoint's key prefixes)."""
        mods = {"encoder": self.encoder, "policy": self.policy, "critic": self.critic,
                "target_critic": self.target_critic}
        if self.decoder is not None:
            mods["decoder"] = self.decoder
        return mods

    def _check_buffer(self, buffer: MultiTaskBuffer) -> None:
        if (buffer.obs_dim, buffer.act_dim) != (self.obs_dim, self.act_dim):
            raise ValueError(f"buffer has obs/act dims {buffer.obs_dim}/{buffer.act_dim}, "
                             f"agent expects {self.obs_dim}/{self.act_dim}")
        a, b = buffer.device, self.device
        if a.type != b.type or (a.index is not None and b.index is not None and a.index != b.index):
            raise ValueError(f"buffer is on {a}, agent on {b}: move it with buffer.to({str(b)!r})")
        if bool((buffer.sizes == 0).any()):
            raise ValueError("every task in the offline buffer needs at least one transition")

    # ------------------------------------------------------------------ training
    def _sample(self, offline: MultiTaskBuffer, online_buf: MultiTaskBuffer | None,
                batch_size: int) -> tuple[Batch, torch.Tensor]:
        """A meta-batch: tasks with replacement, transitions and context pooled over both buffers."""
        slots = torch.randint(len(offline.task_ids), (self.config.meta_batch,), device=self.device,
                              generator=self.generator)
        batch = online.sample_pooled(offline, online_buf, slots, batch_size, self.generator)
        context = online.sample_context(offline, online_buf, slots, self.config.context_size, self.generator)
        return batch, context

    def _train(self, offline: MultiTaskBuffer, online_buf: MultiTaskBuffer | None, num_updates: int,
               batch_size: int, is_online: bool) -> dict[str, float]:
        totals: Stats = {}
        for _ in range(num_updates):
            batch, context = self._sample(offline, online_buf, batch_size)
            for k, v in self._update(batch, context, is_online).items():
                totals[k] = totals[k] + v if k in totals else v.clone()
        return {k: float(v) / num_updates for k, v in totals.items()} if num_updates else {}

    def train_offline(self, buffer: MultiTaskBuffer, num_updates: int) -> dict[str, float]:
        self._check_buffer(buffer)
        return self._train(buffer, None, int(num_updates), self.config.batch_size, is_online=False)

    def _update(self, batch: Batch, context: torch.Tensor, is_online: bool) -> Stats:
        raise NotImplementedError

    def _bellman_target(self, batch_flat: dict[str, torch.Tensor], z: torch.Tensor, alpha: float) -> torch.Tensor:
        """``y = scale r + (1 - d) gamma (min_j Q'_j(s', a') - alpha log pi(a'|s'))``, ``a' ~ pi(.|s', z)``; no grad."""
        cfg = self.config
        with torch.no_grad():
            mean, log_std = self.policy(torch.cat([batch_flat["next_obs"], z], -1))
            pre = losses.reparam_sample(mean, log_std.exp(), self.generator)
            next_q = self.target_critic(torch.cat([batch_flat["next_obs"], torch.tanh(pre), z], -1)).amin(0)
            next_log_pi = (losses.tanh_gaussian_log_prob(pre, mean, log_std).unsqueeze(-1) if alpha
                           else torch.zeros_like(next_q))
            return losses.td_target(batch_flat["rewards"], batch_flat["terminals"], next_q, next_log_pi,
                                    cfg.gamma, cfg.reward_scale, alpha)

    def _step(self, loss: torch.Tensor) -> None:
        """One backward pass, one Adam step, Polyak-average the target critics."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._apply_gradients()

    def _apply_gradients(self) -> None:
        """One Adam step on the accumulated gradients, Polyak-average the target critics."""
        self.optimizer.step()
        polyak_update(self.target_critic.parameters(), self.critic.parameters(), self.config.tau)
        self.num_updates += 1

    def train_online(self, setting: OnlineSetting, num_env_steps: int) -> dict[str, float]:
        return {}

    # ------------------------------------------------------------------ inference and acting
    @torch.no_grad()
    def infer_posterior(self, context: torch.Tensor) -> Normal:
        context = torch.as_tensor(context, dtype=torch.float32, device=self.device)
        if context.dim() != 3 or context.shape[-1] != self.context_dim:
            raise ValueError(f"context must be [T, C, {self.context_dim}], got {list(context.shape)}")
        if context.shape[1] == 0:
            return self.prior(context.shape[0])
        return self.encoder(context)

    def _policy_sample(self, obs: torch.Tensor, z: torch.Tensor, deterministic: bool,
                       generator: torch.Generator) -> torch.Tensor:
        mean, log_std = self.policy(torch.cat([obs, z], -1))
        if deterministic:
            return torch.tanh(mean)
        return torch.tanh(losses.reparam_sample(mean, log_std.exp(), generator))

    @torch.no_grad()
    def act(self, obs: np.ndarray, z: torch.Tensor, deterministic: bool = False) -> np.ndarray:
        """Actions in ``[-1, 1]^act_dim`` (the action box of every smac-bench env)."""
        obs_t = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=self.device)
        z = torch.as_tensor(z, dtype=torch.float32).to(self.device)
        if obs_t.dim() != 2 or obs_t.shape[1] != self.obs_dim or z.shape != (obs_t.shape[0], self.latent_dim):
            raise ValueError(f"act expects obs [N, {self.obs_dim}] and z [N, {self.latent_dim}], "
                             f"got {list(obs_t.shape)} and {list(z.shape)}")
        return self._policy_sample(obs_t, z, deterministic, self.act_generator).cpu().numpy()

    # ------------------------------------------------------------------ checkpoints
    def save(self, directory: str | Path) -> None:
        checkpoint.save_agent(self, directory)

    def load(self, directory: str | Path) -> None:
        checkpoint.load_agent(self, directory)


def _flatten(batch: Batch) -> dict[str, torch.Tensor]:
    """``[T, B, dim]`` fields as ``[T * B, dim]``."""
    return {k: getattr(batch, k).reshape(-1, getattr(batch, k).shape[-1])
            for k in ("obs", "actions", "rewards", "next_obs", "terminals")}


class SMACAgent(LatentActorCritic):
    """SMAC: AWAC actor-critic on ``z`` from an encoder trained by reward decoding; self-labelled online phase."""

    name: ClassVar[str] = "smac"
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

    def _update(self, batch: Batch, context: torch.Tensor, is_online: bool) -> Stats:
        cfg = self.config
        t, b, _ = batch.obs.shape
        # Task inference; encoder and decoder learn offline only, from reward MSE + KL (never the critic).
        with torch.set_grad_enabled(not is_online):
            mu, var = self.encoder.posterior_params(context)
            z_task = losses.reparam_sample(mu, var.sqrt(), self.generator)  # [T, L]
        z = z_task.detach()[:, None].expand(t, b, -1).reshape(t * b, -1)
        f = _flatten(batch)
        target, q_data = Handoff(), Handoff()  # the critic half waits for the target, the actor half for Q(s, a)

        def critic_half() -> Stats:
            """Critic loss (plus, offline, the encoder/decoder loss) and its backward pass."""
            stats: Stats = {}
            loss = torch.zeros((), device=self.device)
            if not is_online:
                kl = losses.latent_kl_loss(mu, var, "mean")
                r_hat = self.decoder(batch.obs, batch.actions, z_task[:, None].expand(t, b, -1))
                reward_loss = losses.mse(r_hat, batch.rewards)
                loss = cfg.kl_weight * kl + reward_loss
                stats.update(kl=kl.detach(), reward_loss=reward_loss.detach())
            q = self.critic(torch.cat([f["obs"], f["actions"], z], -1))  # [2, N, 1]
            q_data.put(q.detach().amin(0))
            critic_loss = losses.critic_loss(q, target.result())
            (loss + critic_loss).backward()
            return {**stats, "critic_loss": critic_loss.detach(), "q_mean": q.detach().mean()}

        def actor_half() -> Stats:
            """The AWAC actor loss and its backward pass."""
            mean, log_std = self.policy(torch.cat([f["obs"], z], -1))
            log_prob_data = losses.tanh_gaussian_log_prob(losses.atanh_clipped(f["actions"]), mean, log_std)
            # V(s) from one policy sample, critic weights held fixed (the -Q term online reaches the actor only).
            reparam = is_online and cfg.online_reparam_weight > 0
            with torch.set_grad_enabled(reparam or cfg.alpha > 0):
                pre = losses.reparam_sample(mean, log_std.exp(), self.generator)
                q_pi = self.critic(torch.cat([f["obs"], torch.tanh(pre), z], -1), detach_weights=True).amin(0)
            weights = losses.awac_weights(q_data.result(), q_pi, cfg.awac_beta)
            actor_loss = losses.awac_policy_loss(log_prob_data, weights)
            if cfg.alpha > 0:
                actor_loss = actor_loss + cfg.alpha * losses.tanh_gaussian_log_prob(pre, mean, log_std).mean()
            if reparam:
                actor_loss = actor_loss - cfg.online_reparam_weight * q_pi.mean()
            actor_loss.backward()
            return {"actor_loss": actor_loss.detach(), "awac_weight_max": weights.max()}

        def bellman_then_actor() -> Stats:
            target.put(self._bellman_target(f, z, cfg.alpha))
            return actor_half()

        self.optimizer.zero_grad(set_to_none=True)
        if self.halves is None:
            target.put(self._bellman_target(f, z, cfg.alpha))
            critic_stats = critic_half()
            actor_stats = actor_half()
        else:  # same random draws in the same order: only the actor's side draws after the encoder
            critic_stats, actor_stats = self.halves.run(critic_half, bellman_then_actor, [target, q_data])
        self._apply_gradients()
        return {**critic_stats, **actor_stats}

    def _label_rewards(self, rollout: online.Rollout) -> np.ndarray:
        """Self-supervised labels ``r_hat(s, a, z_label)``; the env's reward is never read."""
        with torch.no_grad():
            obs, act, z = (torch.as_tensor(x, device=self.device) for x in (rollout.obs, rollout.actions,
                                                                             rollout.label_z))
            return self.decoder(obs, act, z).cpu().numpy()

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
