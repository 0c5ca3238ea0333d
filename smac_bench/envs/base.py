"""Task selection shared by every smac-bench environment."""

from __future__ import annotations

from typing import Any

import gymnasium

from smac_bench.envs.family import Task, TaskFamily, task_family


class MetaTaskMixin:
    """Adds a per-episode task to a ``gymnasium.Env``.

    The task is chosen at reset with ``env.reset(seed=s, options={"task_id": k})``. Without a
    ``task_id`` the env draws a *training* task with its own seeded generator, so plain Gymnasium
    usage (``check_env``, wrappers, vector envs) works and stays reproducible. The task's
    parameters are never part of the observation: ``info["task_id"]`` names the task at reset and
    at every step, for logging and datasets only.
    """

    family_name: str
    family: TaskFamily
    task: Task

    def _init_family(self, task_id: int | None) -> None:
        self.family = task_family(self.family_name)
        self.task = self.family.task(task_id if task_id is not None else self.family.train_ids[0])

    def _select_task(self, options: dict[str, Any] | None) -> None:
        if options and options.get("task_id") is not None:
            self.task = self.family.task(options["task_id"])
        else:
            train = self.family.train_ids
            self.task = self.family.tasks[train[int(self.np_random.integers(len(train)))]]

    def _task_info(self) -> dict[str, Any]:
        return {"task_id": self.task.task_id}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        gymnasium.Env.reset(self, seed=seed)  # seed np_random before the task draw
        self._select_task(options)
        obs, info = super().reset(options=options)
        return obs, {**info, **self._task_info()}
