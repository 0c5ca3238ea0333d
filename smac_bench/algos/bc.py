"""Behaviour-cloning bounds, registered as agents (issue #18, item 4): ``bc`` and ``bc-task``.

These are **bounds, not meta-RL agents**: registered behind the same :class:`~smac_bench.algos.base.Agent`
interface and scored by the same protocol, so the report and the leaderboard place meta-RL agents beside them.

* ``bc`` — context-free behaviour cloning ``pi(a | s)``: a Gaussian around ``tanh(mu(s))`` with a fixed
  deviation (the behaviour noise), fit by maximum likelihood (least squares, :func:`bc_loss`) to every
  offline transition. The observation never reveals the task (by design), so it copies the average
  behaviour: what an agent earns without inferring anything.
* ``bc-task`` — task-conditioned behaviour cloning, *told the task*: ``pi(a | s, phi(task))`` with the
  features of :mod:`smac_bench.envs.features`, fit to the best quarter of each task's episodes by that
  task's return (:attr:`BCConfig.top_fraction`). The harness tells it every task's features at setup
  (:attr:`~smac_bench.algos.base.Agent.told_task`) and evaluation sets ``z = phi(task)``: no exploration.
  On held-out layouts, which put objects where training never did, it measures what this data can reach.

Why a fixed deviation: a tanh-Gaussian with a learned one (rlkit's ``TanhNormal`` likelihood) fit the
frequent, easy states and gave up on the rare, decisive ones: on ``sawyer-manip`` after 2,000 quick updates
its actions in the first 30 steps of the cloned episodes were off by 0.36 per dimension (0.51 at learning
rate 3e-4), least squares by 0.13 (the data's own noise: about 0.08), and it solved no training task.
Least squares on a deterministic tanh actor is also CORL's ``any_percent_bc.py``.

One update draws ``meta_batch`` training tasks with replacement (every task weighs the same, as for the
meta-RL agents) and ``batch_size`` of each one's cloned transitions. Offline only. Randomness: init from
``derive_seed(seed, "init")``, batches from ``generator``, sampled actions from ``act_generator``.
Checkpoints are safetensors + JSON; a told agent's features travel in ``state.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.distributions import Normal

from smac_bench.algos import checkpoint
from smac_bench.algos.base import Agent, OnlineSetting, register_agent
from smac_bench.algos.config import config_from_dict, config_to_dict
from smac_bench.algos.exploration import ExplorationPolicy
from smac_bench.algos.inputs import check_policy_inputs, policy_inputs
from smac_bench.algos.networks import mlp
from smac_bench.data.buffer import MultiTaskBuffer, episode_starts, episode_totals
from smac_bench.errors import UserError
from smac_bench.utils.io import atomic_write_json, atomic_write_with
from smac_bench.utils.seeding import derive_seed, torch_generator


@dataclass
class BCConfig:
    """Hyperparameters of both behaviour-cloning bounds."""

    policy_hidden: tuple[int, ...] = (256, 256)
    """Hidden widths of ``mu`` (input: the observation, and for ``bc-task`` the task's features)."""
    policy_inputs: str = "observation"
    """What ``mu`` sees of an observation (:data:`~smac_bench.algos.inputs.POLICY_INPUTS`); with
    ``"hand-relative"``, ``bc-task``'s told goal point becomes an offset from the hand too."""
    lr: float = 1e-3
    """Adam learning rate (3e-4 fit the early steps of Sawyer's episodes a third worse in 2,000 updates)."""
    meta_batch: int = 16
    """Training tasks per update, drawn with replacement (each task weighs the same whatever its data size)."""
    batch_size: int = 64
    """Transitions per drawn task per update."""
    action_std: float = 0.1
    """Standard deviation of the policy's Gaussian around ``tanh(mu)``, fixed: the behaviour data's action
    noise (0.1, as in the SMAC paper). Only non-deterministic acting draws from it."""
    top_fraction: float = 1.0
    """Clone the best ``ceil(top_fraction * episodes)`` of each task's episodes by their return on that task
    (1: all). Without it being told the task is worth nothing on relabelled data: a Sawyer layout's siblings
    hold the *same* eight episodes, so ``p(a | s, task)`` is one mixture for all of them, and only their rewards
    say which pursue the task (in the ``sawyer-manip`` scripted data two of eight succeed, the task's own; measured at
    quick, cloning all gave ``bc-task`` exactly ``bc``'s 0 % held-out). ``bc-task``: 0.25, ``bc``: 1."""


def bc_preset(preset: str) -> BCConfig:
    """``bc``'s config at ``smoke`` / ``quick`` / ``standard`` (= quick) / ``paper`` (names checked first); ``paper``
    has the meta-RL agents' policy widths (300 x 3): the bounds get the capacity of what they bound."""
    return {
        "smoke": lambda: BCConfig(policy_hidden=(32, 32), meta_batch=2, batch_size=32),
        "quick": BCConfig,
        "standard": BCConfig,
        "paper": lambda: BCConfig(policy_hidden=(300, 300, 300), meta_batch=16, batch_size=256),
    }[preset]()


BC_TASK_TOP_FRACTION = 0.25
"""``bc-task`` clones the best quarter of each task's episodes (see :attr:`BCConfig.top_fraction`)."""


def bc_task_preset(preset: str) -> BCConfig:
    """``bc-task``'s config: ``bc``'s at the same preset, cloning the best quarter of each task's episodes."""
    return dataclasses.replace(bc_preset(preset), top_fraction=BC_TASK_TOP_FRACTION)


def coerce_bc_config(config: Any) -> BCConfig:
    """A :class:`BCConfig` from itself or a dict of its fields (read back from JSON); sizes must be positive."""
    if isinstance(config, BCConfig):
        out = dataclasses.replace(config)
    elif isinstance(config, Mapping):
        out = config_from_dict(dict(config), BCConfig)
    else:
        raise UserError(f"expected a BCConfig (or a dict of its fields), got {type(config).__name__}")
    check_policy_inputs(out.policy_inputs, "BCConfig.")
    for f in fields(out):
        values = getattr(out, f.name)
        if isinstance(values, str):
            continue
        if any(v <= 0 for v in (values if isinstance(values, tuple) else (values,))):
            raise UserError(f"BCConfig.{f.name} must be positive, got {values}")
    if out.top_fraction > 1:
        raise UserError(f"BCConfig.top_fraction is a fraction of episodes in (0, 1], got {out.top_fraction}")
    return out


# ---------------------------------------------------------------------- the loss (pure)
def bc_loss(predicted: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """``mean_n ||tanh(mu(x_n)) - a_n||^2``: the negative log-likelihood of the dataset actions under the
    policy's fixed-deviation Gaussian, up to its scale ``1 / (2 sigma^2)`` and a constant."""
    return (predicted - actions).square().sum(-1).mean()


def top_episode_rows(rewards: torch.Tensor, starts: torch.Tensor, fraction: float) -> torch.Tensor:
    """Rows of the best ``ceil(fraction * episodes)`` episodes by return (ties: earlier first), in row order."""
    episode, returns = episode_totals(rewards, starts)
    count = len(returns)
    keep = max(1, math.ceil(fraction * count - 1e-9))
    order = torch.sort(-returns, stable=True).indices[:keep]
    chosen = torch.zeros(count, dtype=torch.bool, device=rewards.device)
    chosen[order] = True
    return torch.nonzero(chosen[episode]).reshape(-1)


def cloned_rows(buffer: MultiTaskBuffer, fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per task slot, the rows BC clones: ``(rows [K, M] padded with 0, counts [K])``.

    Offline buffers hold each task's transitions in recording order from row 0 (they never wrap).
    """
    picks = []
    for slot in range(len(buffer.task_ids)):
        n = int(buffer.sizes[slot])
        if fraction >= 1:
            picks.append(torch.arange(n, device=buffer.device))
            continue
        starts = episode_starts(buffer.obs[slot, :n], buffer.next_obs[slot, :n], buffer.terminals[slot, :n])
        picks.append(top_episode_rows(buffer.rewards[slot, :n], starts, fraction))
    counts = torch.as_tensor([len(p) for p in picks], device=buffer.device)
    rows = torch.zeros(len(picks), int(counts.max()), dtype=torch.long, device=buffer.device)
    for slot, p in enumerate(picks):
        rows[slot, :len(p)] = p
    return rows, counts


def conditioned_inputs(obs: torch.Tensor, task_features: torch.Tensor) -> torch.Tensor:
    """Policy inputs ``[T * B, obs_dim + F]`` for ``obs [T, B, obs_dim]`` and per-task features ``[T, F]``."""
    t, b, _ = obs.shape
    per_transition = task_features[:, None].expand(t, b, task_features.shape[-1])
    return torch.cat([obs, per_transition], -1).reshape(t * b, -1)


# ---------------------------------------------------------------------- the agents
class BCAgent(Agent):
    """Context-free behaviour cloning ``pi(a | s)``: a bound, not a meta-RL agent (issue #18).

    Its ``z`` has no dimensions (``latent_dim = 0``): there is nothing to infer, and the context the
    protocol collects is never read.
    """

    name: ClassVar[str] = "bc"
    trains_online: ClassVar[bool] = False
    exploration: ClassVar[ExplorationPolicy] = ExplorationPolicy(resample_period=0, final_z="mean")
    """One (empty) draw per episode: nothing to resample."""
    FORMAT_VERSION: ClassVar[int] = 1

    def __init__(self, obs_dim: int, act_dim: int, config: BCConfig | Mapping[str, Any], seed: int,
                 device: str | torch.device = "cpu") -> None:
        self.config = coerce_bc_config(config)
        self.obs_dim, self.act_dim, self.seed = int(obs_dim), int(act_dim), int(seed)
        self.device = torch.device(device)
        self.generator = torch_generator(derive_seed(seed, "train"), self.device)
        self.act_generator = torch_generator(derive_seed(seed, "act"), self.device)
        self.num_updates = 0
        self.task_features: dict[int, np.ndarray] = {}
        """What the agent was told: ``{task_id: features}`` (empty for ``bc``)."""
        self.policy: torch.nn.Sequential | None = None
        """``mu``: the policy's mean action is ``tanh(mu([obs, features]))``."""
        self.optimizer: torch.optim.Optimizer | None = None
        self.latent_dim = 0
        if not self.told_task:
            self._build(0)

    def _build(self, feature_dim: int) -> None:
        """The policy on ``[obs, features]`` and its Adam; initial weights depend on the seed only."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(self.seed, "init"))
            policy = mlp(self.obs_dim + feature_dim, self.config.policy_hidden, self.act_dim)
        self.inputs = policy_inputs(self.config.policy_inputs, self.obs_dim, told_goal=self.told_task)
        self.policy = policy.to(self.device)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.config.lr,
                                          fused=self.device.type in ("cpu", "cuda"))
        self.latent_dim = feature_dim

    def _built_policy(self) -> torch.nn.Sequential:
        if self.policy is None:
            raise UserError(f"{self.name} has not been told the tasks yet: call tell_tasks(features) first")
        return self.policy

    def _features_of(self, task_ids: Sequence[int]) -> torch.Tensor:
        """``[N, latent_dim]`` conditioning of tasks ``task_ids`` (``[N, 0]`` for ``bc``)."""
        return torch.zeros(len(task_ids), 0, device=self.device)

    # ------------------------------------------------------------------ training
    def check_buffer(self, buffer: MultiTaskBuffer) -> None:
        """:class:`UserError` unless ``buffer`` fits: dims, device, no empty task."""
        if (buffer.obs_dim, buffer.act_dim) != (self.obs_dim, self.act_dim):
            raise UserError(f"buffer has obs/act dims {buffer.obs_dim}/{buffer.act_dim}, "
                            f"{self.name} expects {self.obs_dim}/{self.act_dim}")
        if buffer.device.type != self.device.type:
            raise UserError(f"buffer is on {buffer.device}, {self.name} on {self.device}: move it with buffer.to()")
        if bool((buffer.sizes == 0).any()):
            raise UserError("every task in the offline buffer needs at least one transition")

    def train_offline(self, buffer: MultiTaskBuffer, num_updates: int) -> dict[str, float]:
        self.check_buffer(buffer)
        policy = self._built_policy()
        table = self._features_of(buffer.task_ids)
        cfg = self.config
        rows, counts = cloned_rows(buffer, cfg.top_fraction)
        total, count = torch.zeros((), device=self.device), 0
        for _ in range(int(num_updates)):
            slots = torch.randint(len(buffer.task_ids), (cfg.meta_batch,), device=self.device,
                                  generator=self.generator)
            u = torch.rand(cfg.meta_batch, cfg.batch_size, device=self.device, generator=self.generator)
            n = counts[slots, None]
            picked = rows[slots[:, None], torch.minimum((u * n).long(), n - 1)]  # uniform over a task's cloned rows
            obs, actions = buffer.obs[slots[:, None], picked], buffer.actions[slots[:, None], picked]
            predicted = torch.tanh(policy(self.inputs(conditioned_inputs(obs, table[slots]))))
            loss = bc_loss(predicted, actions.reshape(predicted.shape))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.num_updates += 1
            total += loss.detach()
            count += 1
        return {"bc_loss": float(total) / count} if count else {}

    def train_online(self, setting: OnlineSetting, num_env_steps: int) -> dict[str, float]:
        return {}

    # ------------------------------------------------------------------ inference and acting
    def infer_posterior(self, context: torch.Tensor) -> Normal:
        """The (empty) prior whatever the context: ``bc`` reads none."""
        return self.prior(int(torch.as_tensor(context).shape[0]))

    @torch.no_grad()
    def act(self, obs: np.ndarray, z: torch.Tensor, deterministic: bool = False) -> np.ndarray:
        """Actions in ``[-1, 1]^act_dim``; ``z`` is ``[N, 0]`` for ``bc``, the task features for ``bc-task``."""
        policy = self._built_policy()
        obs_t = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=self.device)
        z = torch.as_tensor(z, dtype=torch.float32).to(self.device)
        if obs_t.dim() != 2 or obs_t.shape[1] != self.obs_dim or tuple(z.shape) != (obs_t.shape[0], self.latent_dim):
            raise ValueError(f"act expects obs [N, {self.obs_dim}] and z [N, {self.latent_dim}], "
                             f"got {list(obs_t.shape)} and {list(z.shape)}")
        mean = torch.tanh(policy(self.inputs(torch.cat([obs_t, z], -1))))
        if deterministic:
            return mean.cpu().numpy()
        noise = torch.randn(mean.shape, device=self.device, generator=self.act_generator)
        return (mean + self.config.action_std * noise).clamp(-1.0, 1.0).cpu().numpy()

    # ------------------------------------------------------------------ checkpoints
    def save(self, directory: str | Path) -> None:
        policy = self._built_policy()
        tensors = {f"policy.{k}": v for k, v in policy.state_dict().items()}
        optim_tensors, optim_meta = checkpoint.optimizer_to_flat(self.optimizer)
        tensors.update(optim_tensors)
        tensors["rng.train"] = self.generator.get_state()
        tensors["rng.act"] = self.act_generator.get_state()
        self._write(Path(directory), tensors, {"kind": "agent", "optimizer": optim_meta})

    def save_policy(self, directory: str | Path) -> bool:
        """The policy, the acting stream and the told features: all evaluation needs (no optimiser)."""
        policy = self._built_policy()
        tensors = {f"policy.{k}": v for k, v in policy.state_dict().items()}
        tensors["rng.act"] = self.act_generator.get_state()
        self._write(Path(directory), tensors, {"kind": "policy"})
        return True

    def load(self, directory: str | Path) -> None:
        tensors, state = self._read(Path(directory), "agent")
        checkpoint.optimizer_from_flat(self.optimizer, tensors, state["optimizer"])
        self.generator.set_state(tensors["rng.train"])

    def load_policy(self, directory: str | Path) -> None:
        self._read(Path(directory), "policy")

    def _write(self, directory: Path, tensors: dict[str, torch.Tensor], extra: dict[str, Any]) -> None:
        """``weights.safetensors`` then ``state.json`` (the commit record, holding the weights' sha256), atomically."""
        directory.mkdir(parents=True, exist_ok=True)
        weights = directory / checkpoint.WEIGHTS
        tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
        atomic_write_with(weights, lambda tmp: save_file(tensors, str(tmp)))
        atomic_write_json(directory / checkpoint.STATE, {
            "format_version": self.FORMAT_VERSION, **extra, "agent": self.name, "obs_dim": self.obs_dim,
            "act_dim": self.act_dim, "seed": self.seed, "config": config_to_dict(self.config),
            "num_updates": self.num_updates,
            "task_features": {str(k): [float(x) for x in v] for k, v in sorted(self.task_features.items())},
            "weights_sha256": _sha256(weights),
        })

    def _read(self, directory: Path, kind: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Check a checkpoint of ``kind`` against this agent, restore the policy, acting stream and features."""
        state_file, weights = directory / checkpoint.STATE, directory / checkpoint.WEIGHTS
        if not state_file.is_file() or not weights.is_file():
            raise UserError(f"{directory} is not a {self.name} checkpoint (needs {state_file.name} and {weights.name})")
        state = json.loads(state_file.read_text())
        if state.get("kind") != kind:
            other = "load_policy" if kind == "agent" else "load"
            raise UserError(f"{directory} is a {state.get('kind')!r} checkpoint, not {kind!r}: load it with {other}")
        if _sha256(weights) != state.get("weights_sha256"):
            raise UserError(f"{directory}: {weights.name} does not match {state_file.name} (interrupted save?)")
        state["config"] = checkpoint.config_as_recorded(state.get("config"), self.config)
        expected = {"format_version": self.FORMAT_VERSION, "agent": self.name, "obs_dim": self.obs_dim,
                    "act_dim": self.act_dim, "config": config_to_dict(self.config)}
        for key, value in expected.items():
            if state.get(key) != value:
                raise UserError(f"{directory}: checkpoint {key} is {state.get(key)!r}, this agent has {value!r}; "
                                "build the agent with the checkpoint's settings (state.json) before loading")
        told = _parse_features(state.get("task_features"), directory)
        if told:
            self.tell_tasks(told)
        tensors = load_file(str(weights), device="cpu")
        self._built_policy().load_state_dict({k[len("policy."):]: v for k, v in tensors.items()
                                              if k.startswith("policy.")})
        self.act_generator.set_state(tensors["rng.act"])
        self.num_updates = int(state["num_updates"])
        return tensors, state


class BCTaskAgent(BCAgent):
    """Task-conditioned behaviour cloning ``pi(a | s, phi(task))``, told the task: a bound, not a meta-RL agent.

    Its policy is built when it is told the tasks (the features' length sets the input width); its ``z``
    is the task's feature vector, which protocol evaluation takes from :meth:`task_latents`.
    """

    name: ClassVar[str] = "bc-task"
    told_task: ClassVar[bool] = True

    def tell_tasks(self, features: Mapping[int, np.ndarray]) -> None:
        """Remember ``{task_id: features}``; the first call builds the policy for their length."""
        table = {int(k): np.asarray(v, dtype=np.float32).reshape(-1) for k, v in features.items()}
        lengths = {len(v) for v in table.values()}
        if len(lengths) != 1 or 0 in lengths:
            raise UserError(f"{self.name} needs one non-empty feature vector per task, all of one length "
                            f"(got lengths {sorted(lengths)})")
        (length,) = lengths
        if self.policy is None:
            self._build(length)
        elif length != self.latent_dim:
            raise UserError(f"{self.name} was built for {self.latent_dim} task features, told {length}")
        self.task_features = table

    def task_latents(self, task_ids: Sequence[int]) -> torch.Tensor:
        return self._features_of(task_ids)

    def _features_of(self, task_ids: Sequence[int]) -> torch.Tensor:
        unknown = [int(k) for k in task_ids if int(k) not in self.task_features]
        if unknown:
            raise UserError(f"{self.name} was not told the features of task(s) {unknown[:5]}")
        rows = np.stack([self.task_features[int(k)] for k in task_ids]) if len(task_ids) else \
            np.zeros((0, self.latent_dim), np.float32)
        return torch.as_tensor(rows, dtype=torch.float32, device=self.device)

    def infer_posterior(self, context: torch.Tensor) -> Normal:
        raise UserError(f"{self.name} is told the task and infers nothing from context; use task_latents")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _parse_features(values: Any, where: Path) -> dict[int, list[float]]:
    """``{task_id: features}`` from ``state.json`` (keys are strings in JSON); :class:`UserError` if malformed."""
    if values is None:
        return {}
    try:
        return {int(k): [float(x) for x in v] for k, v in dict(values).items()}
    except (TypeError, ValueError):
        raise UserError(f"{where}: task_features must map task ids to lists of numbers") from None


register_agent("bc", bc_preset)(BCAgent)
register_agent("bc-task", bc_task_preset)(BCTaskAgent)
