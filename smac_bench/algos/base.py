"""The one interface every smac-bench agent implements; the harness talks to nothing else.

An agent is a context-conditioned policy ``pi(a | s, z)`` with an inference network
``q(z | c)`` over *context* ``c`` — a set of ``(s, a, r)`` transitions of one task, shaped
``[T, C, obs_dim + act_dim + 1]`` for ``T`` tasks at once — and a prior ``p(z) = N(0, I)``.

Lifecycle used by the harness (``smac_bench.harness``)::

    agent = make_agent("smac", obs_dim, act_dim, config, seed=0, device="cpu")
    agent.tell_tasks({k: features})                     # only agents with told_task (bounds, issue #18)
    agent.train_offline(buffer, num_updates=1000)       # repeatable: continues training
    agent.train_online(OnlineSetting(...), num_env_steps=2000)   # no-op for offline-only agents
    q = agent.infer_posterior(context)                  # Normal, batch shape [T, latent_dim]
    actions = agent.act(obs, z, deterministic=True)      # obs [N, obs_dim], z [N, latent_dim]
    agent.save(directory); agent.load(directory)

Plugging in an outside algorithm means subclassing :class:`Agent` (set ``name``, and
``trains_online`` / ``supports_halves`` where they differ from the defaults) and registering it
with its preset function::

    @register_agent("my-algo", my_preset)        # my_preset("smoke" | "quick" | "paper") -> config
    class MyAgent(Agent): ...

The registry checks preset names, so a preset function only maps each of :data:`smac_bench.presets.PRESETS` to a
config. The harness rebuilds a saved agent from its run's ``config.json``
(:func:`smac_bench.harness.restore.restore`): the factory is called with the recorded config, and
``load`` must restore what ``save`` wrote. The README's "Adding an algorithm" shows a full example.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import gymnasium
import numpy as np
import torch
from torch.distributions import Normal

from smac_bench.algos.config import for_family
from smac_bench.data.buffer import MultiTaskBuffer
from smac_bench.errors import UserError
from smac_bench.presets import check_preset


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
    supports_halves: ClassVar[bool] = False
    """``True`` for agents whose update can run its critic and actor halves on two threads
    (:meth:`use_halves`; the harness's ``halves`` option)."""
    offline_phase: ClassVar[str | None] = None
    """Name of the agent whose offline phase this one runs, bit for bit (the oracle runs SMAC's), so a
    sweep can train it once and fork; ``None``: never shared."""
    told_task: ClassVar[bool] = False
    """``True`` for agents *told the task* — bounds, not meta-RL agents (issue #18: task-conditioned behaviour
    cloning). The harness then calls :meth:`tell_tasks` once at setup with the family's features of every task,
    train and test (:func:`smac_bench.envs.features.family_task_features`), and protocol evaluation takes each
    row's ``z`` from :meth:`task_latents` of the row's task instead of from a posterior: the ``K`` exploration
    episodes are skipped (nothing would read their context); the scored final episode, its seeds, ``R`` and the
    result columns are the protocol's."""
    latent_dim: int
    device: torch.device

    def use_halves(self, enabled: bool = True) -> None:
        """Split each update over two threads (same numbers); only agents with :attr:`supports_halves`."""
        if enabled:
            raise UserError(f"{self.name} cannot split its update into two halves")

    def tell_tasks(self, features: Mapping[int, np.ndarray]) -> None:
        """Give a :attr:`told_task` agent ``{task_id: feature vector}`` (equal lengths); others refuse."""
        raise UserError(f"agent {self.name!r} is not told the task; it infers it from context")

    def task_latents(self, task_ids: Sequence[int]) -> torch.Tensor:
        """``z [N, latent_dim]`` of a :attr:`told_task` agent for tasks it was told (protocol evaluation's ``z``)."""
        raise UserError(f"agent {self.name!r} is not told the task; it infers it from context")

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

    def save_policy(self, directory: str | Path) -> bool:
        """Write only what evaluation needs (policy and encoder; safetensors + JSON); ``False``: not supported.

        Kept beside every run's full checkpoint, which holds optimisers and replay and may be pruned:
        a policy checkpoint is what leaderboard verification and z-shift analysis load.
        """
        from smac_bench.algos.checkpoint import save_policy

        if not callable(getattr(self, "modules", None)):
            return False
        save_policy(self, directory)
        return True

    def load_policy(self, directory: str | Path) -> None:
        """Restore what :meth:`save_policy` wrote into a freshly built agent (for evaluation only)."""
        from smac_bench.algos.checkpoint import load_policy

        if not callable(getattr(self, "modules", None)):
            raise UserError(f"agent {self.name!r} keeps no policy checkpoints; load its full checkpoint instead")
        load_policy(self, directory)


AgentFactory = Callable[..., Agent]
PresetFunction = Callable[[str], Any]


@dataclass(frozen=True)
class AgentEntry:
    """One registered agent: how to build it and its config at each of :data:`smac_bench.presets.PRESETS`."""

    name: str
    factory: AgentFactory
    """Usually the :class:`Agent` subclass; called with ``obs_dim, act_dim, config, seed, device``."""
    preset: PresetFunction
    """``preset(name)`` is the agent's config (a typed dataclass) at preset ``name``; names are checked first."""

    @property
    def supports_halves(self) -> bool:
        return bool(getattr(self.factory, "supports_halves", False))


AGENTS: dict[str, AgentEntry] = {}
"""The agent registry, filled by :func:`register_agent` (importing :mod:`smac_bench.algos` adds the reference ones)."""


def register_agent(name: str, preset: PresetFunction) -> Callable[[AgentFactory], AgentFactory]:
    """Decorator: make an agent available to the harness under ``name``.

    ``preset(preset_name)`` returns the agent's typed config dataclass for one of :data:`smac_bench.presets.PRESETS`
    (only known names reach it).
    """

    def wrap(factory: AgentFactory) -> AgentFactory:
        AGENTS[name] = AgentEntry(name, factory, preset)
        return factory

    return wrap


def registered_agent(name: str) -> AgentEntry:
    """The registry entry of agent ``name``; :class:`UserError` naming the known ones if there is none."""
    import smac_bench.algos  # noqa: F401  (registers the reference agents)

    if name not in AGENTS:
        raise UserError(f"unknown algo {name!r}: choose one of {', '.join(sorted(AGENTS))}")
    return AGENTS[name]


def agent_config(name: str, preset: str = "quick", family: str | None = None) -> Any:
    """The config dataclass of agent ``name`` at a named preset, with ``family``'s settings
    (:data:`~smac_bench.algos.config.FAMILY_SETTINGS`) when given; :class:`UserError` for unknown names."""
    return for_family(registered_agent(name).preset(check_preset(preset)), family)


def agent_factory(name: str) -> AgentFactory:
    """The registered factory (usually the class) of agent ``name``; :class:`UserError` if unknown."""
    return registered_agent(name).factory


def make_agent(name: str, obs_dim: int, act_dim: int, config: Any, seed: int, device: str = "cpu") -> Agent:
    """Build a registered agent; :class:`UserError` naming the known ones for an unknown ``name``."""
    return agent_factory(name)(obs_dim=obs_dim, act_dim=act_dim, config=config, seed=seed, device=device)
