"""Task families: a frozen list of tasks with a fixed train/test split.

A *task family* is the meta-RL object: a distribution over MDPs that share states and
actions and differ in their reward (and, for Sawyer, their scene). The tasks of every family
are sampled once from a documented seed by :func:`generate` and stored as JSON inside the
package (``smac_bench/envs/tasks/<name>.json``). Importing the package reads those files; it
never resamples them, so a task id means the same MDP on every machine forever.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import numpy as np

TASKS_PACKAGE = "smac_bench.envs.tasks"


@dataclass(frozen=True)
class Task:
    """One MDP of a family: its integer id and the parameters that define its reward/scene."""

    task_id: int
    params: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


@dataclass(frozen=True)
class TaskFamily:
    """A named, frozen list of tasks with disjoint train and test splits.

    Attributes:
        name: family name used on the command line, e.g. ``"cheetah-vel"``.
        env_id: the Gymnasium id that simulates this family.
        tasks: every task, ``tasks[k].task_id == k``.
        train_ids / test_ids: disjoint id tuples covering all tasks.
        max_episode_steps: horizon of one episode.
        seed: the seed the task list was generated from (documentation; never resampled).
        description: one line, shown by the CLI.
    """

    name: str
    env_id: str
    tasks: tuple[Task, ...]
    train_ids: tuple[int, ...]
    test_ids: tuple[int, ...]
    max_episode_steps: int
    seed: int
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [t.task_id for t in self.tasks]
        if ids != list(range(len(ids))):
            raise ValueError(f"{self.name}: task ids must be 0..{len(ids) - 1} in order")
        if set(self.train_ids) & set(self.test_ids):
            raise ValueError(f"{self.name}: train and test splits overlap")
        if sorted(self.train_ids + self.test_ids) != ids:
            raise ValueError(f"{self.name}: train and test splits must cover every task")

    @property
    def train(self) -> list[Task]:
        """Tasks used for meta-training and offline data."""
        return [self.tasks[i] for i in self.train_ids]

    @property
    def test(self) -> list[Task]:
        """Held-out tasks used only for evaluation."""
        return [self.tasks[i] for i in self.test_ids]

    @property
    def num_tasks(self) -> int:
        return len(self.tasks)

    def task(self, task_id: int) -> Task:
        """The task with this id; a clear ``ValueError`` if there is none."""
        k = int(task_id) if isinstance(task_id, (int, np.integer)) and not isinstance(task_id, bool) else None
        if k is None or not 0 <= k < len(self.tasks):
            raise ValueError(
                f"unknown task_id {task_id!r} for task family {self.name!r}: "
                f"valid ids are 0..{len(self.tasks) - 1} (train {id_span(self.train_ids)}, "
                f"test {id_span(self.test_ids)})"
            )
        return self.tasks[k]

    def split_of(self, task_id: int) -> str:
        """``"train"`` or ``"test"``."""
        self.task(task_id)
        return "train" if task_id in set(self.train_ids) else "test"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "env_id": self.env_id,
            "seed": self.seed,
            "max_episode_steps": self.max_episode_steps,
            "description": self.description,
            "extra": dict(self.extra),
            "train_ids": list(self.train_ids),
            "test_ids": list(self.test_ids),
            "tasks": [{"task_id": t.task_id, "params": dict(t.params)} for t in self.tasks],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskFamily:
        return cls(
            name=data["name"],
            env_id=data["env_id"],
            tasks=tuple(Task(int(t["task_id"]), t["params"]) for t in data["tasks"]),
            train_ids=tuple(int(i) for i in data["train_ids"]),
            test_ids=tuple(int(i) for i in data["test_ids"]),
            max_episode_steps=int(data["max_episode_steps"]),
            seed=int(data["seed"]),
            description=data.get("description", ""),
            extra=data.get("extra", {}),
        )


def id_span(ids: Sequence[int], most_runs: int = 4) -> str:
    """``"0-119, 155-1234"``: task ids as their runs of consecutive values, or their count if there are
    more than ``most_runs`` runs."""
    runs: list[list[int]] = []
    for k in sorted(ids):
        if runs and k == runs[-1][1] + 1:
            runs[-1][1] = k
        else:
            runs.append([k, k])
    if not runs or len(runs) > most_runs:
        return f"{len(ids)} ids"
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)


@dataclass(frozen=True)
class FamilySpec:
    """Everything smac-bench registers about a task family, in one place.

    The harness, the data layer and the recipes all key on the family name; each reads what it
    needs from here rather than from a registry of its own. Strings, not objects, point at the
    env class, the task generator and the dataset, so this module imports nothing above ``envs``
    (the dataset's recipe is ``recipes.RECIPES[spec.dataset_id]``).

    Attributes:
        name: the family's short name on the command line, e.g. ``"cheetah-vel"``.
        env_id: the Gymnasium id the family is simulated with (its datasets record it).
        entry_point: ``"module:Class"`` of that env, registered with Gymnasium.
        horizon: steps of one episode (Gymnasium's ``max_episode_steps``).
        dataset_id: the family's offline dataset, ``smac-bench/<family>/<name>-v<k>``.
        generator: ``"module:function"`` that samples the frozen task list (run once, by
            ``python -m smac_bench.envs.generate_tasks``).
    """

    name: str
    env_id: str
    entry_point: str
    horizon: int
    dataset_id: str
    generator: str

    def generate(self) -> TaskFamily:
        """Sample the family's task list afresh from its generator (equal to the frozen file)."""
        from importlib import import_module

        module, _, function = self.generator.partition(":")
        return getattr(import_module(module), function)()


def family_names() -> list[str]:
    """Names of every task family shipped with the package."""
    return sorted(
        p.name.removesuffix(".json")
        for p in resources.files(TASKS_PACKAGE).iterdir()
        if p.name.endswith(".json")
    )


def task_file_sha256(name: str) -> str:
    """sha256 of a family's frozen JSON task file (pinned by the tests)."""
    return hashlib.sha256(resources.files(TASKS_PACKAGE).joinpath(f"{name}.json").read_bytes()).hexdigest()


@cache
def task_family(name: str) -> TaskFamily:
    """Load a task family by name, e.g. ``task_family("cheetah-vel")``.

    Raises ``ValueError`` naming the known families when ``name`` is not one of them.
    """
    names = family_names()
    if name not in names:
        raise ValueError(f"unknown task family {name!r}: choose one of {', '.join(names)}")
    text = resources.files(TASKS_PACKAGE).joinpath(f"{name}.json").read_text()
    return TaskFamily.from_json(json.loads(text))


def write_family(family: TaskFamily, directory: str) -> None:
    """Write a family's JSON file (only used when a family is first generated)."""
    import pathlib

    path = pathlib.Path(directory) / f"{family.name}.json"
    path.write_text(json.dumps(family.to_json(), indent=1) + "\n")
