"""Rebuild an agent from what a run left on disk — the one way, for resume, z-shift and verify.

A run folder holds ``config.json`` (the algo, preset, resolved agent config, obs/act dims, seed and
device) and ``checkpoints/<name>/agent/`` (what ``Agent.save`` wrote). :func:`restore` builds the
registered agent with exactly that config — list-valued fields read back from JSON become the
tuples the dataclass declares — and loads the weights. Copies of this logic drifted before
(one dropped list-valued fields, so an agent with custom hidden widths came back with the preset's).
An agent told the task (``Agent.told_task``, the ``bc-task`` bound) is told its family's task features again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

from smac_bench.algos.base import Agent, agent_config, make_agent
from smac_bench.algos.config import config_from_dict
from smac_bench.errors import UserError
from smac_bench.harness.results import CONFIG_FILE, read_config

AGENT_DIR = "agent"
"""A harness checkpoint ``checkpoints/<name>/`` keeps the agent's own files in this sub-folder."""
POLICY_DIR = "policy"
"""Kept points (``offline_end``, ``online_end``) also hold what evaluation needs alone, here."""


@dataclass(frozen=True)
class AgentSpec:
    """Everything that determines a freshly built agent (before any weights are loaded)."""

    algo: str
    obs_dim: int
    act_dim: int
    seed: int
    config: Any
    """The agent's typed config (as its preset function returns it)."""

    def build(self, device: str) -> Agent:
        """The registered agent, freshly initialised from :attr:`seed`."""
        return make_agent(self.algo, self.obs_dim, self.act_dim, self.config, seed=self.seed, device=device)

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, Any], seed: int | None = None) -> AgentSpec:
        """The spec a run's ``config.json`` describes (``seed`` overrides the recorded one)."""
        algo = str(run_config["algo"])
        if "obs_dim" in run_config and "act_dim" in run_config:
            obs_dim, act_dim = int(run_config["obs_dim"]), int(run_config["act_dim"])
        else:  # configs written before the harness recorded dims: ask the family's env
            from smac_bench import make_env

            obs_dim, act_dim = env_dims(lambda: make_env(str(run_config["env"])))
        return cls(algo, obs_dim, act_dim, int(run_config["seed"] if seed is None else seed),
                   recorded_agent_config(run_config))


def env_dims(make_env: Callable[[], gymnasium.Env]) -> tuple[int, int]:
    """``(obs_dim, act_dim)`` of the flat observation and action spaces of ``make_env()``'s env."""
    probe = make_env()
    try:
        return int(np.prod(probe.observation_space.shape)), int(np.prod(probe.action_space.shape))
    finally:
        probe.close()


def recorded_agent_config(run_config: Mapping[str, Any]) -> Any:
    """The exact agent config a run used: its preset's dataclass with every recorded field restored."""
    preset = agent_config(str(run_config["algo"]), str(run_config.get("preset", "quick")))
    values = run_config.get("agent_config")
    if not isinstance(values, Mapping):
        return preset
    if dataclasses.is_dataclass(preset) and not isinstance(preset, type):
        return config_from_dict(values, type(preset))
    return dict(values)


def restore(source: str | Path, *, checkpoint: str = "latest", run_config: Mapping[str, Any] | None = None,
            seed: int | None = None, device: str | None = None) -> Agent:
    """The agent saved in ``source``, rebuilt and loaded.

    ``source`` is a run folder (then ``checkpoints/<checkpoint>/agent`` is loaded, or its ``policy``
    when the full checkpoint was pruned), a harness checkpoint folder (``.../checkpoints/<name>``), an
    agent folder (what ``Agent.save`` wrote) or a policy folder (what ``Agent.save_policy`` wrote; the
    agent can then evaluate but not train on).
    The agent is built from ``run_config`` when given (a submission's copy of ``config.json``),
    else from the ``config.json`` of the run the checkpoint sits in. ``seed`` and ``device``
    override the recorded ones.
    """
    weights, found_config = _locate(Path(source), checkpoint)
    run_config = run_config if run_config is not None else found_config
    if run_config is None:
        raise UserError(f"{source}: no {CONFIG_FILE} of its run found above it; pass the run folder instead")
    agent = AgentSpec.from_run_config(run_config, seed=seed).build(device or str(run_config.get("device", "cpu")))
    if _is_policy(weights):
        agent.load_policy(weights)
    else:
        agent.load(weights)
    _tell_family_tasks(agent, run_config)
    return agent


def _tell_family_tasks(agent: Agent, run_config: Mapping[str, Any]) -> None:
    """Give an agent told the task (issue #18) its registered family's features, over what its checkpoint holds.

    The checkpoint's copy makes a saved agent usable on its own (a toy family, a test); the family's wins
    wherever the run names one, so a re-evaluation (``leaderboard verify``) never scores a submission on
    features the submission supplied.
    """
    from smac_bench.envs import FAMILIES
    from smac_bench.envs.features import family_task_features

    env = str(run_config.get("env", ""))
    if agent.told_task and env in FAMILIES:
        agent.tell_tasks(family_task_features(env))


def _is_policy(folder: Path) -> bool:
    import json

    try:
        return json.loads((folder / "state.json").read_text()).get("kind") == "policy"
    except (OSError, ValueError, AttributeError):
        return False


def _locate(source: Path, checkpoint: str) -> tuple[Path, dict[str, Any] | None]:
    """``(agent folder, config.json of its run or None)`` for a run, checkpoint or agent folder."""
    if (source / CONFIG_FILE).is_file():
        point = source / "checkpoints" / checkpoint
        weights = point / AGENT_DIR if (point / AGENT_DIR).is_dir() else point / POLICY_DIR
        if not weights.is_dir():
            raise UserError(f"{source} has no checkpoints/{checkpoint}: let the run reach it "
                            "(or resume it) before restoring from it")
        return weights, read_config(source)
    weights = next((source / d for d in (AGENT_DIR, POLICY_DIR) if (source / d).is_dir()), source)
    for parent in weights.parents[:3]:  # <run>/checkpoints/<name>/agent
        if (parent / CONFIG_FILE).is_file():
            return weights, read_config(parent)
    return weights, None
