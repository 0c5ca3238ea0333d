"""Scripted behaviour: waypoint controllers plus Gaussian action noise (Sawyer manipulation).

Mixed quality comes from the noise level instead of a learning history: a task's data walks
from very noisy to nearly clean control, the way snapshot recipes walk from untrained to final.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from smac_bench.envs import task_family

# Noise standard deviations of the scripted behaviour, poor -> good (actions are in [-1, 1]).
NOISE_LEVELS: tuple[float, ...] = (1.0, 0.6, 0.4, 0.25, 0.15, 0.05)


class NoisyScripted:
    """``clip(controller(obs, task) + noise_std * eps)`` for a batch of rows on different tasks."""

    def __init__(self, family: str, noise_std: float) -> None:
        self.family, self.noise_std = family, float(noise_std)
        self.name = f"scripted+N(0,{noise_std:g}^2)"

    @cached_property
    def _scene_tasks(self) -> dict[int, object]:
        from smac_bench.envs.sawyer.tasks import scene_task

        return {t.task_id: scene_task(t.params) for t in task_family(self.family).tasks}

    def __call__(self, x: np.ndarray, noise: np.ndarray | None, task_ids: np.ndarray) -> np.ndarray:
        from smac_bench.envs.sawyer.scripted import scripted_action

        a = np.stack([scripted_action(o, self._scene_tasks[int(k)]) for o, k in zip(x, task_ids, strict=True)])
        if noise is not None:
            a = a + self.noise_std * noise
        return np.clip(a, -1.0, 1.0).astype(np.float32)


def sawyer_behaviour(family: str, levels: Sequence[float] = NOISE_LEVELS) -> list[NoisyScripted]:
    """The behaviour policies of the scripted Sawyer recipe, poor -> good."""
    return [NoisyScripted(family, s) for s in levels]
