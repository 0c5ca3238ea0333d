"""Typed hyperparameters of the latent-context actor-critics (SMAC, oracle, offline PEARL) and their presets.

A config holds the *agent's* hyperparameters only. The schedule — how many offline updates,
how many online env steps, how often to evaluate — belongs to the harness, which passes it to
``Agent.train_offline(buffer, num_updates)`` / ``Agent.train_online(setting, num_env_steps)``.
The online fields here describe the *shape* of one online iteration (how many env steps per
task, how many gradient updates per iteration), i.e. the agent's update-to-data ratio.

Presets:

* ``smoke`` — tiny networks and batches; an update takes about a millisecond (tests).
* ``quick`` — medium networks, meaningful on a 2-core laptop CPU.
* ``paper`` — the reference sizes of rlkit's SMAC / PEARL launchers (Pong et al. 2022).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from smac_bench.errors import UserError


@dataclass
class LatentACConfig:
    """Fields shared by every latent-context actor-critic."""

    latent_dim: int = 5
    """Dimension of the task variable ``z``."""
    encoder_hidden: tuple[int, ...] = (200, 200, 200)
    """Hidden widths of the context encoder MLP on single ``(s, a, r)`` transitions."""
    policy_hidden: tuple[int, ...] = (300, 300, 300)
    """Hidden widths of the tanh-Gaussian policy ``pi(a | s, z)``."""
    critic_hidden: tuple[int, ...] = (300, 300, 300)
    """Hidden widths of each of the twin critics ``Q_j(s, a, z)`` (and their target copies)."""
    policy_lr: float = 3e-4
    """Adam learning rate of the policy."""
    critic_lr: float = 3e-4
    """Adam learning rate of the critics."""
    context_lr: float = 3e-4
    """Adam learning rate of the context encoder (and reward decoder)."""
    tau: float = 0.005
    """Polyak rate of the target critics: ``target <- (1 - tau) target + tau online`` every update."""
    gamma: float = 0.99
    """Discount factor."""
    reward_scale: float = 5.0
    """Rewards are multiplied by this inside the Bellman target (not in the context or decoder)."""
    kl_weight: float = 0.1
    """Weight of ``KL(q(z | c) || N(0, I))`` in the encoder loss."""
    meta_batch: int = 4
    """Tasks per gradient update (drawn with replacement from the buffer's tasks)."""
    batch_size: int = 128
    """Transitions per task per update for the actor-critic (offline phase)."""
    context_size: int = 64
    """Context transitions per task per update for the encoder."""


@dataclass
class SMACConfig(LatentACConfig):
    """SMAC: offline meta-training with an AWAC actor, then self-supervised online training."""

    decoder_hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the reward decoder ``r(s, a, z)``."""
    awac_beta: float = 100.0
    """AWAC temperature: actor weights are ``softmax((Q - V) / beta)`` over the batch."""
    alpha: float = 0.0
    """Entropy coefficient in the Bellman target and actor loss (rlkit's SMAC uses 0)."""
    online_reparam_weight: float = 1.0
    """Online phase only: weight of the reparameterised ``-Q(s, a~pi)`` actor term added to AWAC."""
    online_tasks_per_iter: int = 5
    """Training tasks visited per online iteration, one env each, stepped as a batch."""
    online_prior_steps: int = 400
    """Env steps per visited task with ``z ~ p(z)`` re-drawn every step (the last episode is cut at this budget)."""
    online_posterior_steps: int = 600
    """Env steps per visited task with ``z ~ q(z | c)`` re-drawn every step from a per-episode posterior."""
    online_updates_per_iter: int = 4000
    """Gradient updates after each online iteration's collection."""
    online_batch_size: int = 256
    """Transitions per task per update in the online phase (offline and online data pooled)."""
    rollout_context_size: int = 256
    """Context transitions per task to infer ``z`` for reward labels and posterior rollouts."""
    online_capacity: int = 20_000
    """Online-buffer capacity per task (a ring buffer; oldest transitions are overwritten)."""


@dataclass
class PEARLConfig(LatentACConfig):
    """Offline PEARL: SAC whose encoder learns through the critic loss plus the KL term."""

    alpha: float = 1.0
    """Entropy coefficient (PEARL: 1, with ``reward_scale`` setting the effective temperature)."""
    policy_mean_reg: float = 1e-3
    """Weight of ``mean(mu^2)`` on the policy's pre-tanh mean."""
    policy_std_reg: float = 1e-3
    """Weight of ``mean(log_std^2)`` on the policy's log standard deviation."""


_SMOKE_NETS = dict(latent_dim=2, encoder_hidden=(32, 32), policy_hidden=(32, 32), critic_hidden=(32, 32),
                   meta_batch=2, batch_size=32, context_size=16)
_QUICK_NETS = dict(encoder_hidden=(128, 128), policy_hidden=(256, 256), critic_hidden=(256, 256),
                   meta_batch=4, batch_size=128, context_size=64)


def smac_preset(preset: str) -> SMACConfig:
    """:class:`SMACConfig` at ``smoke`` / ``quick`` / ``paper`` (the registry checks the name)."""
    return {
        "paper": SMACConfig,
        "quick": lambda: SMACConfig(**_QUICK_NETS, online_tasks_per_iter=4, online_prior_steps=200,
                                    online_posterior_steps=200, online_updates_per_iter=1200,
                                    online_batch_size=128, online_capacity=10_000),
        "smoke": lambda: SMACConfig(**_SMOKE_NETS, decoder_hidden=(16, 16), online_tasks_per_iter=2,
                                    online_prior_steps=20, online_posterior_steps=20, online_updates_per_iter=20,
                                    online_batch_size=32, rollout_context_size=32, online_capacity=2_000),
    }[preset]()


def pearl_preset(preset: str) -> PEARLConfig:
    """:class:`PEARLConfig` at ``smoke`` / ``quick`` / ``paper`` (the registry checks the name)."""
    return {"paper": PEARLConfig, "quick": lambda: PEARLConfig(**_QUICK_NETS),
            "smoke": lambda: PEARLConfig(**_SMOKE_NETS)}[preset]()


C = TypeVar("C", bound=LatentACConfig)
D = TypeVar("D")


def config_to_dict(config: LatentACConfig) -> dict[str, Any]:
    """JSON-ready dict of a config (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def config_from_dict(values: Mapping[str, Any], cls: type[D]) -> D:
    """The dataclass ``cls`` from a dict of its fields (e.g. read back from JSON, where tuples became lists).

    Raises :class:`UserError` naming unknown fields.
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UserError(f"unknown {cls.__name__} field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    return cls(**{k: tuple(v) if "tuple" in str(hints[k]) else v for k, v in values.items()})


def coerce_config(config: Any, cls: type[C]) -> C:
    """Accept a ``cls`` instance, or a dict of its fields (e.g. read back from JSON); validate sizes.

    Raises :class:`UserError` naming unknown fields or non-positive sizes.
    """
    if isinstance(config, cls):
        out = dataclasses.replace(config)
    elif isinstance(config, dict):
        out = config_from_dict(config, cls)
    else:
        raise UserError(f"expected a {cls.__name__} (or a dict of its fields), got {type(config).__name__}")
    for f in fields(out):
        v = getattr(out, f.name)
        if isinstance(v, int) and not isinstance(v, bool) and v <= 0 and f.name != "online_posterior_steps":
            raise UserError(f"{cls.__name__}.{f.name} must be positive, got {v}")
    return out
