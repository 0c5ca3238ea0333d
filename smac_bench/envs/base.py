"""Task selection shared by every smac-bench environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium

from smac_bench.envs.family import Task, TaskFamily, task_family


class MetaTaskMixin:
    """Adds a per-episode task to a ``gymnasium.Env``.

    Which tasks an env's resets draw from is fixed at construction, Gymnasium-style, so wrappers,
    vector envs and autoreset keep an env where it was put:

    * ``task_id=k``: every reset is task ``k`` (``gymnasium.make(id, task_id=105)``);
    * ``task_ids=[...]``: each reset draws one of these tasks with the env's seeded generator;
    * ``split="train"`` or ``"test"``: each reset draws from that split;
    * nothing: each reset draws a *training* task (so ``check_env`` and plain usage stay reproducible).

    ``env.reset(seed=s, options={"task_id": k})`` still picks task ``k`` for that one episode. The
    task's parameters are never part of the observation: ``info["task_id"]`` names the task at
    reset and at every step, for logging and datasets only.
    """

    family_name: str
    family: TaskFamily
    task: Task
    task_pool: tuple[int, ...]

    def _init_family(self, task_id: int | None, task_ids: Sequence[int] | None = None,
                     split: str | None = None) -> None:
        self.family = task_family(self.family_name)
        chosen = [name for name, value in (("task_id", task_id), ("task_ids", task_ids), ("split", split))
                  if value is not None]
        if len(chosen) > 1:
            raise ValueError(f"give one of task_id, task_ids or split, not {' and '.join(chosen)}")
        if split is not None:
            if split not in ("train", "test"):
                raise ValueError(f"split must be 'train' or 'test', not {split!r}")
            pool = self.family.train_ids if split == "train" else self.family.test_ids
        elif task_ids is not None:
            pool = tuple(self.family.task(k).task_id for k in task_ids)
            if not pool:
                raise ValueError("task_ids is empty: give at least one task")
        elif task_id is not None:
            pool = (self.family.task(task_id).task_id,)
        else:
            pool = self.family.train_ids
        self.task_pool = tuple(pool)
        self.task = self.family.task(self.task_pool[0])

    def _select_task(self, options: dict[str, Any] | None) -> None:
        if options and options.get("task_id") is not None:
            self.task = self.family.task(options["task_id"])
        elif len(self.task_pool) == 1:
            self.task = self.family.task(self.task_pool[0])
        else:
            self.task = self.family.tasks[self.task_pool[int(self.np_random.integers(len(self.task_pool)))]]

    def _task_info(self) -> dict[str, Any]:
        return {"task_id": self.task.task_id}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        gymnasium.Env.reset(self, seed=seed)  # seed np_random before the task draw
        self._select_task(options)
        obs, info = super().reset(options=options)
        return obs, {**info, **self._task_info()}
