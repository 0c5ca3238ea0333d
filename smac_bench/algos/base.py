"""The one interface every smac-bench agent implements; the harness talks to nothing else.

An agent is a context-conditioned policy ``pi(a | s, z)`` with an inference network
``q(z | c)`` over *context* ``c`` — a set of ``(s, a, r)`` transitions of one task, shaped
``[T, C, obs_dim + act_dim + 1]`` for ``T`` tasks at once — and a prior ``p(z) = N(0, I)``.

Lifecycle used by the harness (``smac_bench.harness``)::

    agent = make_agent("smac", obs_dim, act_dim, config, seed=0, device="cpu")
    agent.train_offline(buffer, num_updates=1000)       # repeatable: continues training
    agent.train_online(OnlineSetting(...), num_env_steps=2000)   # no-op for offline-only agents
    q = agent.infer_posterior(context)                  # Normal, batch shape [T, latent_dim]
    actions = agent.act(obs, z, deterministic=True)      # obs [N, obs_dim], z [N, latent_dim]
    agent.save(directory); agent.load(directory)

Plugging in an outside algorithm means subclassing :class:`Agent` and registering a factory
with :func:`register_agent`; see the example at the bottom of this module's docstring in the
README ("Adding an algorithm").
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import gymnasium
import numpy as np
import torch
from torch.distributions import Normal

from smac_bench.data.buffer import MultiTaskBuffer


@dataclass
class OnlineSetting:
    """What an agent may use in its online phase.

    Attributes:
        make_env: builds one env of the task family; the task is chosen per episode with
            ``env.reset(seed=..., options={"task_id": k})``.
        task_ids: the training tasks to collect experience on (never test tasks).
        offline: the offline buffer (context for inferring ``z``, and data to keep training on).
    """

    make_env: Callable[[], gymnasium.Env]
    task_ids: Sequence[int]
    offline: MultiTaskBuffer


class Agent(abc.ABC):
    """Base class of meta-RL agents with a latent task variable ``z``.

    Subclasses set :attr:`name`, build their networks in ``__init__`` and implement the
    abstract methods. All tensors live on :attr:`device`; numpy goes in and out at ``act``.
    """

    name: ClassVar[str]
    trains_online: ClassVar[bool] = True
    """``False`` for offline-only agents: the harness then skips their online phase and repeats
    their offline-end scores at the online checkpoints instead of re-evaluating an unchanged agent."""
    latent_dim: int
    device: torch.device

    @abc.abstractmethod
    def train_offline(self, buffer: MultiTaskBuffer, num_updates: int) -> dict[str, float]:
        """Run ``num_updates`` gradient updates on offline data; returns mean losses.

        Calling it again continues from where the last call stopped.
        """

    @abc.abstractmethod
    def train_online(self, setting: OnlineSetting, num_env_steps: int) -> dict[str, float]:
        """Collect ``num_env_steps`` on training tasks and keep training; returns mean metrics.

        Offline-only agents return ``{}`` and change nothing.
        """

    @abc.abstractmethod
    def infer_posterior(self, context: torch.Tensor) -> Normal:
        """``q(z | c)`` for context ``[T, C, obs_dim + act_dim + 1]``: a Normal of batch ``[T, latent_dim]``.

        ``C == 0`` returns the prior.
        """

    def prior(self, n: int) -> Normal:
        """``p(z) = N(0, I)`` with batch shape ``[n, latent_dim]``."""
        zeros = torch.zeros(n, self.latent_dim, device=self.device)
        return Normal(zeros, torch.ones_like(zeros))

    @abc.abstractmethod
    def act(self, obs: np.ndarray, z: torch.Tensor, deterministic: bool = False) -> np.ndarray:
        """Actions ``[N, act_dim]`` in the action box for ``obs [N, obs_dim]`` and ``z [N, latent_dim]``."""

    @abc.abstractmethod
    def save(self, directory: str | Path) -> None:
        """Write weights (safetensors) and state (JSON) into ``directory``, atomically."""

    @abc.abstractmethod
    def load(self, directory: str | Path) -> None:
        """Restore what :meth:`save` wrote, so that training continues identically."""


AgentFactory = Callable[..., Agent]
AGENTS: dict[str, tuple[AgentFactory, Callable[[str], Any]]] = {}
PRESETS = ("smoke", "quick", "paper")


def register_agent(name: str, preset: Callable[[str], Any]) -> Callable[[AgentFactory], AgentFactory]:
    """Decorator: make an agent available to the harness as ``--algo name``.

    ``preset(preset_name)`` returns the agent's typed config dataclass for ``"smoke"``,
    ``"quick"`` or ``"paper"``.
    """

    def wrap(factory: AgentFactory) -> AgentFactory:
        AGENTS[name] = (factory, preset)
        return factory

    return wrap


def _lookup(name: str) -> tuple[AgentFactory, Callable[[str], Any]]:
    import smac_bench.algos  # noqa: F401  (registers the reference agents)

    if name not in AGENTS:
        raise ValueError(f"unknown algorithm {name!r}: choose one of {', '.join(sorted(AGENTS))}")
    return AGENTS[name]


def agent_config(name: str, preset: str = "quick") -> Any:
    """The config dataclass of agent ``name`` at a named preset (``smoke``, ``quick``, ``paper``)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    return _lookup(name)[1](preset)


def agent_factory(name: str) -> AgentFactory:
    """The registered factory (usually the class) of agent ``name``; ``ValueError`` if unknown."""
    return _lookup(name)[0]


def make_agent(name: str, obs_dim: int, act_dim: int, config: Any, seed: int, device: str = "cpu") -> Agent:
    """Build a registered agent; ``ValueError`` naming the known ones for an unknown ``name``."""
    return agent_factory(name)(obs_dim=obs_dim, act_dim=act_dim, config=config, seed=seed, device=device)
