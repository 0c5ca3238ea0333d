"""The latent-context actor-critic that SMAC, the oracle and offline PEARL share.

Networks: a context encoder ``q(z | c)``, optionally a reward decoder ``r_hat(s, a, z)``, a
tanh-Gaussian policy ``pi(a | s, z)`` and twin critics ``Q_j(s, a, z)`` with target copies, all
trained by one (multi-group) Adam. What differs between the agents is only their update
(:meth:`LatentActorCritic.update`): the loss functions of :mod:`smac_bench.algos.losses`, composed.

Training data come from a set of *named* buffers (``"offline"``, ``"online"``, ``"encoder"``); an agent
says which names feed its actor-critic batches (:attr:`~LatentActorCritic.batch_sources`) and its
encoder contexts (:attr:`~LatentActorCritic.context_sources`), and :mod:`smac_bench.data.buffer`
draws from their pooled rows. ``"online"`` is the RL replay of online rollouts; ``"encoder"`` is the
online data the encoder's contexts read: the RL replay itself (``encoder_buffer="pooled"``) or a
buffer of the prior-``z`` rollouts only (``"apart"``, kept in :attr:`LatentActorCritic.encoder_buffer`),
as :mod:`smac_bench.algos.online` routes them.

Randomness: network init uses ``derive_seed(seed, "init")`` (built on CPU, then moved, so weights
do not depend on the device); training draws from ``generator``, ``act`` from ``act_generator``
(evaluation never shifts training's random numbers), env seeds from ``np_rng``. The global
torch/numpy RNGs are never used.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch.distributions import Normal

from smac_bench.algos import checkpoint, losses
from smac_bench.algos.base import Agent, OnlineSetting
from smac_bench.algos.config import LatentACConfig, coerce_config
from smac_bench.algos.encoder import ContextEncoder, RewardDecoder
from smac_bench.algos.exploration import ExplorationPolicy
from smac_bench.algos.inputs import context_inputs, decoder_inputs, encoder_place, policy_inputs
from smac_bench.algos.networks import EnsembleMLP, TanhGaussianPolicy, polyak_update
from smac_bench.algos.online import Rollout
from smac_bench.algos.table_prior import FIT_CONTEXT, TablePrior, first_observations, fit_table_prior, posterior_means
from smac_bench.data import buffer as buffers
from smac_bench.data.buffer import Batch, MultiTaskBuffer, context_dim
from smac_bench.utils.io import atomic_write_json, atomic_write_with
from smac_bench.utils.seeding import derive_seed, numpy_generator, torch_generator

Stats = dict[str, torch.Tensor]
"""Per-update diagnostics (detached scalars), averaged over a training call."""


def per_transition(z_task: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Task latents ``[T, L]`` repeated for each of a task's ``batch_size`` transitions: ``[T * B, L]``."""
    t = z_task.shape[0]
    return z_task[:, None].expand(t, batch_size, -1).reshape(t * batch_size, -1)


class LatentActorCritic(Agent):
    """Networks, sampling, acting, inference and checkpoints shared by SMAC, the oracle and offline PEARL.

    Subclasses set :attr:`name`, :attr:`config_cls`, :attr:`uses_decoder` and implement :meth:`update`.
    """

    config_cls: ClassVar[type[LatentACConfig]] = LatentACConfig
    uses_decoder: ClassVar[bool] = False
    batch_sources: ClassVar[tuple[str, ...]] = ("offline", "online")
    """Buffers whose pooled rows feed the actor-critic batches (those present in a training call)."""
    context_sources: ClassVar[tuple[str, ...]] = ("offline", "encoder")
    """Buffers whose pooled rows feed the encoder's contexts."""

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
            seen, seen_dim = context_inputs(cfg.context_inputs, self.obs_dim, self.context_dim)
            self.encoder = ContextEncoder(self.context_dim, cfg.encoder_hidden, cfg.latent_dim, seen, seen_dim,
                                          encoder_place(cfg.context_inputs, cfg.latent_dim))
            self.decoder = None
            if self.uses_decoder:
                seen, seen_dim = decoder_inputs(cfg.decoder_inputs, self.obs_dim, self.act_dim, cfg.latent_dim)
                self.decoder = RewardDecoder(self.obs_dim, self.act_dim, cfg.latent_dim, cfg.decoder_hidden,
                                             seen, seen_dim)
            self.policy = TanhGaussianPolicy(self.obs_dim + cfg.latent_dim, cfg.policy_hidden, self.act_dim,
                                             inputs=policy_inputs(cfg.policy_inputs, self.obs_dim,
                                                                 latent_dim=cfg.latent_dim))
            self.critic = EnsembleMLP(2, z_in, cfg.critic_hidden, 1)
            # last, so the networks' initial weights do not depend on it; every fit redraws its weights
            self.table_prior = (TablePrior(self.obs_dim, cfg.latent_dim, cfg.table_prior_components,
                                           place=self.encoder.place is not None)
                                if cfg.exploration_prior == "table" else None)
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
        self.encoder_buffer: MultiTaskBuffer | None = None
        """Online prior-``z`` rollouts kept apart from the RL replay (``encoder_buffer="apart"``; else ``None``)."""
        self.last_rollouts: list[Rollout] = []

    # ------------------------------------------------------------------ structure
    def modules(self) -> dict[str, torch.nn.Module]:
        """Every network by name (the checkpoint's key prefixes)."""
        mods = {"encoder": self.encoder, "policy": self.policy, "critic": self.critic,
                "target_critic": self.target_critic}
        if self.decoder is not None:
            mods["decoder"] = self.decoder
        if self.table_prior is not None:
            mods["table_prior"] = self.table_prior
        return mods

    def check_buffer(self, buffer: MultiTaskBuffer) -> None:
        """``ValueError`` unless ``buffer`` fits this agent: dims, device, no empty task."""
        if (buffer.obs_dim, buffer.act_dim) != (self.obs_dim, self.act_dim):
            raise ValueError(f"buffer has obs/act dims {buffer.obs_dim}/{buffer.act_dim}, "
                             f"agent expects {self.obs_dim}/{self.act_dim}")
        a, b = buffer.device, self.device
        if a.type != b.type or (a.index is not None and b.index is not None and a.index != b.index):
            raise ValueError(f"buffer is on {a}, agent on {b}: move it with buffer.to({str(b)!r})")
        if bool((buffer.sizes == 0).any()):
            raise ValueError("every task in the offline buffer needs at least one transition")

    # ------------------------------------------------------------------ training
    def sample_meta_batch(self, sources: Mapping[str, MultiTaskBuffer],
                          batch_size: int) -> tuple[Batch, torch.Tensor]:
        """Tasks drawn with replacement, then their transitions and contexts from the named buffers.

        ``sources["offline"]`` fixes the task list (every buffer holds the same tasks, slot by slot).
        """
        slots = torch.randint(len(sources["offline"].task_ids), (self.config.meta_batch,), device=self.device,
                              generator=self.generator)
        batch = buffers.sample(_named(sources, self.batch_sources), slots, batch_size, self.generator)
        return batch, self.sample_contexts(sources, slots, self.config.context_size)

    def sample_contexts(self, sources: Mapping[str, MultiTaskBuffer], slots: torch.Tensor, n: int) -> torch.Tensor:
        """Encoder contexts of ``slots``: the pooled :attr:`context_sources`, or with ``encoder_buffer="exploration"``
        (online phase) the task's online exploration rollouts once it has any."""
        if getattr(self.config, "encoder_buffer", None) == "exploration" and "encoder" in sources:
            return buffers.sample_context_preferring(sources["encoder"], sources["offline"], slots, n, self.generator)
        return buffers.sample_context(_named(sources, self.context_sources), slots, n, self.generator)

    def train_updates(self, sources: Mapping[str, MultiTaskBuffer], num_updates: int, batch_size: int,
                      is_online: bool, context_minibatches: int = 1) -> dict[str, float]:
        """``num_updates`` train steps on meta-batches from ``sources``; returns mean diagnostics.

        Each train step makes ``context_minibatches`` gradient updates on the same tasks: one context
        of ``context_minibatches * context_size`` transitions per task is drawn and cut into slices,
        each slice paired with a fresh batch (rlkit's ``embedding_batch_size // embedding_mini_batch_size``).
        """
        totals: Stats = {}
        count = 0
        for _ in range(num_updates):
            for batch, context in self._train_step_batches(sources, batch_size, context_minibatches):
                for k, v in self.update(batch, context, is_online).items():
                    totals[k] = totals[k] + v if k in totals else v.clone()
                count += 1
        return {k: float(v) / count for k, v in totals.items()} if count else {}

    def _train_step_batches(self, sources: Mapping[str, MultiTaskBuffer], batch_size: int,
                            minibatches: int) -> list[tuple[Batch, torch.Tensor]]:
        """The ``(batch, context)`` pairs of one train step (one pair: :meth:`sample_meta_batch`'s draws)."""
        if minibatches == 1:
            return [self.sample_meta_batch(sources, batch_size)]
        size = self.config.context_size
        slots = torch.randint(len(sources["offline"].task_ids), (self.config.meta_batch,), device=self.device,
                              generator=self.generator)
        context = self.sample_contexts(sources, slots, size * minibatches)
        return [(buffers.sample(_named(sources, self.batch_sources), slots, batch_size, self.generator),
                 context[:, i * size:(i + 1) * size]) for i in range(minibatches)]

    def train_offline(self, buffer: MultiTaskBuffer, num_updates: int) -> dict[str, float]:
        """``num_updates`` offline updates; then, with ``exploration_prior="table"``, the table prior is refitted
        to the encoder they left (from its own random stream: training's draws are unchanged)."""
        self.check_buffer(buffer)
        stats = self.train_updates({"offline": buffer}, int(num_updates), self.config.batch_size, is_online=False)
        if self.table_prior is not None:
            stats["table_prior_nll"] = self.fit_table_prior(buffer)
        return stats

    def fit_table_prior(self, buffer: MultiTaskBuffer) -> float:
        """Fit :attr:`table_prior` to the posterior means of ``buffer``'s tasks; returns the final NLL.

        Seeded by ``(seed, num_updates)``, so a resumed run fits exactly what an uninterrupted one did."""
        assert self.table_prior is not None
        generator = torch_generator(derive_seed(self.seed, "table_prior_context", self.num_updates), self.device)
        z = posterior_means(self.encoder, buffer, FIT_CONTEXT, generator)
        trace = fit_table_prior(self.table_prior, first_observations(buffer), z,
                                derive_seed(self.seed, "table_prior_init", self.num_updates),
                                self.config.table_prior_fit_steps)
        return trace[-1]

    def train_online(self, setting: OnlineSetting, num_env_steps: int) -> dict[str, float]:
        return {}

    def update(self, batch: Batch, context: torch.Tensor, is_online: bool) -> Stats:
        """One gradient update on a meta-batch ``[T, B, ...]`` and its context ``[T, C, ...]``."""
        raise NotImplementedError

    def bellman_target(self, batch: Batch, z: torch.Tensor, alpha: float) -> torch.Tensor:
        """``y = scale r + (1 - d) gamma (min_j Q'_j(s', a') - alpha log pi(a'|s'))``, ``a' ~ pi(.|s', z)``; no grad.

        ``batch`` is flat (``[N, dim]`` fields) and ``z`` is ``[N, L]``.
        """
        cfg = self.config
        with torch.no_grad():
            mean, log_std = self.policy(torch.cat([batch.next_obs, z], -1))
            pre = losses.reparam_sample(mean, log_std.exp(), self.generator)
            next_q = self.target_critic(torch.cat([batch.next_obs, torch.tanh(pre), z], -1)).amin(0)
            next_log_pi = (losses.tanh_gaussian_log_prob(pre, mean, log_std).unsqueeze(-1) if alpha
                           else torch.zeros_like(next_q))
            return losses.td_target(batch.rewards, batch.terminals, next_q, next_log_pi,
                                    cfg.gamma, cfg.reward_scale, alpha)

    def step(self, loss: torch.Tensor) -> None:
        """One backward pass, one Adam step, Polyak-average the target critics."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.apply_gradients()

    def apply_gradients(self) -> None:
        """One Adam step on the accumulated gradients, Polyak-average the target critics."""
        self.optimizer.step()
        polyak_update(self.target_critic.parameters(), self.critic.parameters(), self.config.tau)
        self.num_updates += 1

    # ------------------------------------------------------------------ inference and acting
    @property
    def exploration(self) -> ExplorationPolicy:
        """How this agent draws ``z`` while exploring and in the scored episode (online phase and protocol v2)."""
        cfg = self.config
        return ExplorationPolicy(resample_period=cfg.exploration_resample_period, prior=cfg.exploration_prior,
                                 replay_above=cfg.replay_rewarded_above)

    @torch.no_grad()
    def exploration_latents(self, first_obs: np.ndarray | torch.Tensor,
                            episode: int | torch.Tensor) -> torch.Tensor:
        """``[N, L]``: the ``"table"`` prior's latent for exploration episode ``episode`` (per row, or one for all)
        of episodes that began at ``first_obs [N, obs_dim]``."""
        if self.table_prior is None:
            raise ValueError("exploration_latents needs exploration_prior='table'")
        obs = torch.as_tensor(np.asarray(first_obs), dtype=torch.float32, device=self.device)
        return self.table_prior.ranked_mean(obs, episode)

    def posterior_params(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Means and variances ``[T, L]`` of ``q(z | c)`` (differentiable; no checks)."""
        return self.encoder.posterior_params(context)

    @torch.no_grad()
    def infer_posterior(self, context: torch.Tensor) -> Normal:
        context = torch.as_tensor(context, dtype=torch.float32, device=self.device)
        if context.dim() != 3 or context.shape[-1] != self.context_dim:
            raise ValueError(f"context must be [T, C, {self.context_dim}], got {list(context.shape)}")
        if context.shape[1] == 0:
            return self.prior(context.shape[0])
        return self.encoder(context)

    def sample_actions(self, obs: torch.Tensor, z: torch.Tensor, deterministic: bool,
                       generator: torch.Generator) -> torch.Tensor:
        """``tanh(u)``, ``u ~ N(mu(s, z), sigma(s, z))`` drawn from ``generator`` (``tanh(mu)`` if deterministic)."""
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
        return self.sample_actions(obs_t, z, deterministic, self.act_generator).cpu().numpy()

    # ------------------------------------------------------------------ checkpoints
    def save(self, directory: str | Path) -> None:
        checkpoint.save_agent(self, directory)
        _save_encoder_buffer(self.encoder_buffer, Path(directory))

    def load(self, directory: str | Path) -> None:
        checkpoint.load_agent(self, directory)
        self.encoder_buffer = _load_encoder_buffer(Path(directory), self.device)
        self.last_rollouts = []


def _named(sources: Mapping[str, MultiTaskBuffer], names: tuple[str, ...]) -> list[MultiTaskBuffer]:
    """The buffers called ``names`` that this training call has, in the order of ``names``."""
    return [sources[name] for name in names if name in sources]


ENCODER_WEIGHTS, ENCODER_STATE = "encoder_buffer.safetensors", "encoder_buffer.json"
"""The ``"apart"`` encoder buffer, next to the checkpoint's own files (absent when there is none)."""


def _save_encoder_buffer(buffer: MultiTaskBuffer | None, directory: Path) -> None:
    """Write ``buffer`` beside a checkpoint (safetensors + JSON, each atomic); remove stale files when ``None``."""
    from safetensors.torch import save_file

    if buffer is None:
        for name in (ENCODER_WEIGHTS, ENCODER_STATE):
            (directory / name).unlink(missing_ok=True)
        return
    tensors, meta = buffer.state()
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write_with(directory / ENCODER_WEIGHTS, lambda tmp: save_file(tensors, str(tmp)))
    atomic_write_json(directory / ENCODER_STATE, meta)


def _load_encoder_buffer(directory: Path, device: torch.device) -> MultiTaskBuffer | None:
    """The buffer :func:`_save_encoder_buffer` wrote, or ``None``."""
    import json

    from safetensors.torch import load_file

    if not (directory / ENCODER_STATE).is_file():
        return None
    meta = json.loads((directory / ENCODER_STATE).read_text())
    return MultiTaskBuffer.from_state(load_file(str(directory / ENCODER_WEIGHTS), device="cpu"), meta, device)
