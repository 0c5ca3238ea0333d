"""Evaluation protocols v1 and v2: how a meta-RL agent is scored on a task family. Frozen; change = new version.

v2 is the default since issue #17; v1 stays reproducible (:class:`ProtocolV1`), its rows keep the
label ``v1``, and rows of the two versions are never ranked together. Everything below holds for
both versions except how ``z`` is drawn, which v2 leaves to the agent (see "Protocol v2").

Protocol v1 (the SMAC / PEARL paper protocol)
---------------------------------------------
*Exploration context — the headline score, on every held-out test task.*
For each test task ``k`` and each run ``r in 0..R-1`` (independent, ``R = 4``):

1. Collect ``K = 2`` exploration trajectories of at most ``H = 200`` steps. Each one uses its
   own ``z`` drawn from the prior ``p(z) = N(0, I)`` (the paper explores with ``z ~ prior``;
   drawing a fresh ``z`` per trajectory, rather than reusing one, makes the two trajectories
   differ even with a deterministic policy). Every transition ``(s, a, r)`` is appended to the
   run's context.
2. Infer the posterior ``q(z | c)`` from the whole context (``<= K * H`` transitions).
3. Run one final trajectory with ``z`` = the posterior **mean**.

The score of ``(k, r)`` is the undiscounted return of the final trajectory; for manipulation
families also ``success`` = 1 if ``info["success"]`` was truthy at any step of it. The policy is
deterministic in all ``K + 1`` trajectories; the only exploration noise is ``z``.

*Offline context — the z-shift diagnostic, on training tasks.*
A train-only dataset has no data for test tasks, so offline-context evaluation runs on a fixed
subset of the **training** tasks (``num_offline_tasks`` ids spaced evenly over the train split,
:func:`offline_task_ids`), as in the paper's distribution-shift study. For each such task and
run, ``K * H`` transitions are drawn uniformly (with replacement) from that task's offline data,
the posterior mean is inferred from them, and one final trajectory is scored as above. Rows carry
``split = "train"`` and ``context_source = "offline"``; the headline number is always
``split = "test", context_source = "exploration"``. The z-shift analysis
(:mod:`smac_bench.analysis.zshift`) additionally runs exploration context on the same train subset
so the two context sources are compared on the same tasks.

*Seeds.* Every ``(task, run)`` owns a seed fixed in advance by
:func:`episode_seed` ``(eval_seed, task_id, run)``; from it come the env reset seed of each of its
``K + 1`` trajectories, its prior draws of ``z`` and its offline-context sample. Results for a
``(task, run)`` therefore do not depend on which other tasks are evaluated alongside, on batch
order, or on which episodes finish first. The harness uses the run's training seed as
``eval_seed`` at every evaluation point (common random numbers along a learning curve).

*Early termination* (Ant falls): a trajectory ends at ``terminated or truncated`` or after ``H``
steps; the context holds only the steps actually taken.

Protocol v2 (exploration belongs to the agent)
----------------------------------------------
As v1, except that ``z`` is drawn by the agent's own rule (its ``exploration`` attribute, an
:class:`~smac_bench.algos.exploration.ExplorationPolicy`, the one its online collection uses;
agents that declare none get rlkit's rule, ``ExplorationPolicy()``):

1. In each of the ``K`` exploration trajectories ``z`` is redrawn from the prior every
   ``resample_period`` env steps (SMAC, as rlkit: every step; 0: one draw per trajectory). The
   posterior is not updated between exploration trajectories.
2. The posterior ``q(z | c)`` of the whole exploration context, as in v1.
3. The final trajectory draws ``z ~ q(z | c)`` every ``resample_period`` steps (``final_z="sample"``;
   SMAC, as rlkit's ``collect_paths``) or uses the posterior mean (``final_z="mean"``).

Offline-context rows infer ``q`` from ``K * H`` offline transitions as in v1 and draw the final
trajectory's ``z`` by the same rule, so the two context sources differ only in the context. v1 scored
SMAC on one prior ``z`` per exploration trajectory — contexts it never trained on, since its online
phase redraws ``z`` every step. Each row's draws come from its own seed
(``SeedSequence([episode seed, 3, trajectory])``), so results still ignore batch composition. Labels:
``"v2"`` at paper values, else ``"v2(R=..,K=..,H=..)"``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

PROTOCOL_VERSION = "v2"
"""The version the harness evaluates with unless told otherwise."""
VERSIONS = ("v1", "v2")


@dataclass(frozen=True)
class _Protocol:
    """Parameters shared by every protocol version (paper values by default).

    Attributes:
        num_runs: ``R``, independent adaptation runs per task.
        num_exploration_trajectories: ``K``, exploration trajectories per run.
        horizon: ``H``, maximum steps per trajectory.
        deterministic: act with the policy's mean action (all trajectories).
        num_offline_tasks: training tasks used for offline-context evaluation (evenly spaced).
        offline_context: evaluate with offline context on training tasks as well.
    """

    num_runs: int = 4
    num_exploration_trajectories: int = 2
    horizon: int = 200
    deterministic: bool = True
    num_offline_tasks: int = 30
    offline_context: bool = True

    version: str = ""

    def __post_init__(self) -> None:
        if self.num_runs < 1 or self.num_exploration_trajectories < 1 or self.horizon < 1:
            raise ValueError("num_runs, num_exploration_trajectories and horizon must be >= 1")
        expected = type(self).__dataclass_fields__["version"].default
        if self.version != expected:
            raise ValueError(f"{type(self).__name__} cannot carry version {self.version!r}")

    @property
    def context_size(self) -> int:
        """Transitions in a full exploration context (and in an offline context): ``K * H``."""
        return self.num_exploration_trajectories * self.horizon

    @property
    def label(self) -> str:
        """Written in every result row: ``"v1"``/``"v2"`` at paper values, else e.g. ``"v2(R=..,K=..,H=..)"``.

        Scores obtained with different versions or ``R, K, H`` are not comparable, so the label
        differs and the report refuses to mix them.
        """
        paper = type(self)()
        if (self.num_runs, self.num_exploration_trajectories, self.horizon, self.deterministic) == (
            paper.num_runs, paper.num_exploration_trajectories, paper.horizon, paper.deterministic
        ):
            return self.version
        det = "" if self.deterministic else ",stoch"
        return f"{self.version}(R={self.num_runs},K={self.num_exploration_trajectories},H={self.horizon}{det})"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class ProtocolV1(_Protocol):
    """Protocol v1: one prior ``z`` per exploration trajectory, the posterior mean in the final one."""

    version: str = "v1"


@dataclass(frozen=True)
class ProtocolV2(_Protocol):
    """Protocol v2: ``z`` drawn by the agent's exploration policy while exploring and in the final trajectory."""

    version: str = "v2"


Protocol = ProtocolV1 | ProtocolV2


def protocol_from_dict(data: dict[str, Any]) -> Protocol:
    """The protocol a result's ``config.json`` recorded (no ``version``: v1, the only one before v2)."""
    version = data.get("version", "v1")
    if version not in VERSIONS:
        raise ValueError(f"unknown protocol version {version!r}: known {', '.join(VERSIONS)}")
    return (ProtocolV1 if version == "v1" else ProtocolV2).from_dict(data)


def episode_seed(eval_seed: int, task_id: int, run: int) -> int:
    """The seed of one ``(task, run)``: a 32-bit hash of ``(eval_seed, task_id, run)``.

    ``SeedSequence`` mixes the three integers so neighbouring tasks/runs get unrelated streams.
    """
    state = np.random.SeedSequence([int(eval_seed), int(task_id), int(run)]).generate_state(1, np.uint32)
    return int(state[0])


def trajectory_seed(seed: int, trajectory: int) -> int:
    """Env reset seed of trajectory ``j`` (``0..K-1`` exploration, ``K`` final) of a run."""
    state = np.random.SeedSequence([int(seed), 1, int(trajectory)]).generate_state(1, np.uint32)
    return int(state[0])


def offline_task_ids(train_ids: tuple[int, ...] | list[int], num: int) -> list[int]:
    """``num`` training ids spaced evenly over the train split (all of them if ``num >= len``)."""
    train = list(train_ids)
    if num >= len(train):
        return train
    picks = np.linspace(0, len(train) - 1, num).round().astype(int)
    return [train[i] for i in picks]
