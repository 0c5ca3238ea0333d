"""Vector envs whose sub-envs each stay on their own task.

``gymnasium.make_vec(id, num_envs=n, split="test")`` gives every sub-env the same keyword
arguments, so it can fix a split but not one task per sub-env. :func:`make_task_vec` builds one
sub-env per task id, each fixed on its task at construction, so Gymnasium's autoreset starts the
next episode on the same task (never a training task drawn behind the user's back).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import gymnasium

from smac_bench.envs.family import task_family


def make_task_vec(family: str, task_ids: Sequence[int], vectorization_mode: str = "sync",
                  **env_kwargs: Any) -> gymnasium.vector.VectorEnv:
    """A vector env with sub-env ``i`` fixed on task ``task_ids[i]`` (``"sync"`` or ``"async"``)."""
    fam = task_family(family)
    ids = [fam.task(k).task_id for k in task_ids]  # ValueError naming the family for an unknown id
    if not ids:
        raise ValueError("task_ids is empty: give one task per sub-env")
    fns = [partial(gymnasium.make, fam.env_id, task_id=k, **env_kwargs) for k in ids]
    if vectorization_mode == "sync":
        return gymnasium.vector.SyncVectorEnv(fns)
    if vectorization_mode == "async":
        return gymnasium.vector.AsyncVectorEnv(fns)
    raise ValueError(f"vectorization_mode must be 'sync' or 'async', not {vectorization_mode!r}")
