"""Checkpoints of latent-context agents: ``weights.safetensors`` + ``state.json``, never pickle.

``weights.safetensors`` holds every tensor: network weights (``<module>.<param>``), Adam moments
(``optim.<index>.<name>``), torch generator states (``rng.<name>``) and the online buffer
(``online.<field>``). ``state.json`` holds everything else: agent name, dims, seed, config,
counters, Adam hyperparameters, the numpy generator's state, the online buffer's layout and
the sha256 of the weights file. Each file is written atomically (temp + ``os.replace``), weights
first; ``state.json`` is the commit record, and :func:`load_agent` refuses a weights file whose
hash does not match it (a crash between the two renames leaves a detectably stale pair).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from smac_bench.algos.config import LatentACConfig, config_to_dict
from smac_bench.data.buffer import MultiTaskBuffer
from smac_bench.errors import UserError
from smac_bench.utils.io import atomic_write_json, atomic_write_with

FORMAT_VERSION = 1
WEIGHTS, STATE = "weights.safetensors", "state.json"
POLICY_MODULES = ("policy", "encoder", "table_prior")
"""What evaluation needs: acting needs the policy, inferring ``z`` from context the encoder, exploring a new
scene the table prior (agents that have one)."""


class Checkpointable(Protocol):
    """What a checkpoint holds of an agent: its identity, networks, optimiser, random streams and counters."""

    name: str
    obs_dim: int
    act_dim: int
    seed: int
    config: LatentACConfig
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    act_generator: torch.Generator
    np_rng: np.random.Generator
    num_updates: int
    num_env_steps: int
    online_buffer: MultiTaskBuffer | None
    device: torch.device

    def modules(self) -> dict[str, torch.nn.Module]:
        """Every network by name (the weights' key prefixes)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimiser's ``state_dict`` into tensors (``optim.<param index>.<name>``) and JSON."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{index}.{name}"] = value
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_flat(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Inverse of :func:`optimizer_to_flat`: load into ``optimizer``."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for key, value in meta["scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_agent(agent: Checkpointable, directory: str | Path) -> None:
    """Write ``agent`` into ``directory`` (created if needed); see the module docstring for the layout."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in agent.modules().items():
        for key, value in module.state_dict().items():
            tensors[f"{prefix}.{key}"] = value
    optim_tensors, optim_meta = optimizer_to_flat(agent.optimizer)
    tensors.update(optim_tensors)
    tensors["rng.train"] = agent.generator.get_state()
    tensors["rng.act"] = agent.act_generator.get_state()
    online_meta = None
    if agent.online_buffer is not None:
        buf_tensors, online_meta = agent.online_buffer.state()
        tensors.update({f"online.{k}": v for k, v in buf_tensors.items()})
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write_with(directory / WEIGHTS, lambda tmp: save_file(tensors, str(tmp)))
    state = {
        "format_version": FORMAT_VERSION,
        "agent": agent.name,
        "obs_dim": agent.obs_dim,
        "act_dim": agent.act_dim,
        "seed": agent.seed,
        "config": config_to_dict(agent.config),
        "num_updates": agent.num_updates,
        "num_env_steps": agent.num_env_steps,
        "optimizer": optim_meta,
        "numpy_rng": agent.np_rng.bit_generator.state,
        "online_buffer": online_meta,
        "weights_sha256": _sha256(directory / WEIGHTS),
    }
    atomic_write_json(directory / STATE, state)


def config_as_recorded(recorded: Any, config: Any) -> Any:
    """A checkpoint's recorded config (a dict) with the fields added to ``config``'s class since it was written
    filled in with their defaults: the checkpoint was made with those. Anything else is returned as it is."""
    defaults = config_to_dict(type(config)())
    if isinstance(recorded, dict) and set(recorded) <= set(defaults):
        return {**defaults, **recorded}
    return recorded


def _checked_state(agent: Checkpointable, directory: Path) -> dict[str, Any]:
    """``state.json`` of a checkpoint made for exactly this agent's name, dims and config, weights intact."""
    if not (directory / STATE).is_file() or not (directory / WEIGHTS).is_file():
        raise UserError(f"{directory} is not an agent checkpoint (needs {STATE} and {WEIGHTS})")
    state = json.loads((directory / STATE).read_text())
    if state.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{directory}: checkpoint format {state.get('format_version')} is not {FORMAT_VERSION}")
    if _sha256(directory / WEIGHTS) != state["weights_sha256"]:
        raise UserError(f"{directory}: {WEIGHTS} does not match {STATE} (interrupted save?); use another checkpoint")
    state["config"] = config_as_recorded(state.get("config"), agent.config)
    expected = {"agent": agent.name, "obs_dim": agent.obs_dim, "act_dim": agent.act_dim,
                "config": config_to_dict(agent.config)}
    for key, value in expected.items():
        if state[key] != value:
            raise UserError(f"{directory}: checkpoint {key} is {state[key]!r}, this agent has {value!r}; "
                            "build the agent with the checkpoint's settings (state.json) before loading")
    return state


def load_agent(agent: Checkpointable, directory: str | Path) -> None:
    """Restore what :func:`save_agent` wrote into an agent built with the same name, dims and config."""
    directory = Path(directory)
    state = _checked_state(agent, directory)
    if state.get("kind") == "policy":
        raise UserError(f"{directory} is a policy checkpoint (evaluation only): load it with Agent.load_policy")
    tensors = load_file(str(directory / WEIGHTS), device="cpu")
    for prefix, module in agent.modules().items():
        sd = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
        module.load_state_dict(sd)
    optimizer_from_flat(agent.optimizer, tensors, state["optimizer"])
    agent.generator.set_state(tensors["rng.train"])
    agent.act_generator.set_state(tensors["rng.act"])
    agent.np_rng.bit_generator.state = state["numpy_rng"]
    agent.num_updates, agent.num_env_steps = int(state["num_updates"]), int(state["num_env_steps"])
    meta = state["online_buffer"]
    agent.online_buffer = None if meta is None else MultiTaskBuffer.from_state(
        {k[len("online."):]: v for k, v in tensors.items() if k.startswith("online.")}, meta, agent.device)


def save_policy(agent: Checkpointable, directory: str | Path) -> None:
    """Write the policy, encoder and table prior only (no optimiser, replay or training streams): about 0.4 MB
    at ``quick``.

    ``rng.act`` is kept so that evaluation with sampled actions resumes the same stream; protocol
    evaluation with mean actions does not draw from it.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    modules = agent.modules()
    kept = [prefix for prefix in POLICY_MODULES if prefix in modules]
    tensors = {f"{prefix}.{key}": value for prefix in kept for key, value in modules[prefix].state_dict().items()}
    tensors["rng.act"] = agent.act_generator.get_state()
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write_with(directory / WEIGHTS, lambda tmp: save_file(tensors, str(tmp)))
    atomic_write_json(directory / STATE, {
        "format_version": FORMAT_VERSION, "kind": "policy", "agent": agent.name, "obs_dim": agent.obs_dim,
        "act_dim": agent.act_dim, "seed": agent.seed, "config": config_to_dict(agent.config),
        "modules": kept, "num_updates": agent.num_updates, "num_env_steps": agent.num_env_steps,
        "weights_sha256": _sha256(directory / WEIGHTS),
    })


def load_policy(agent: Checkpointable, directory: str | Path) -> None:
    """Load what :func:`save_policy` wrote; the agent's other networks keep their initial weights."""
    directory = Path(directory)
    state = _checked_state(agent, directory)
    if state.get("kind") != "policy":
        raise UserError(f"{directory} is a full agent checkpoint, not a policy checkpoint: load it with Agent.load")
    tensors = load_file(str(directory / WEIGHTS), device="cpu")
    modules = agent.modules()
    for prefix in (prefix for prefix in POLICY_MODULES if prefix in modules):
        modules[prefix].load_state_dict({k[len(prefix) + 1:]: v for k, v in tensors.items()
                                         if k.startswith(prefix + ".")})
    agent.act_generator.set_state(tensors["rng.act"])
    agent.num_updates, agent.num_env_steps = int(state["num_updates"]), int(state["num_env_steps"])
