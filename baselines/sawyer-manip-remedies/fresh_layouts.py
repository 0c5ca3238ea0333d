"""New sawyer-manip layouts in training cells or in held-out cells: which of the two walls is it? (issue #18)

Held-out tasks differ from training tasks in two ways at once: their objects and goals sit in the
chessboard cells training never uses, and they use object combinations no training layout has. This
probe lays out fresh tables with the *training* combinations, either in training cells (new poses and
goals, same cells: what an agent that generalises within the training distribution should solve) or in
held-out cells (only the cells are new), adds them to the family for this process only (ids after the
frozen ones; the frozen task file is untouched), simulates the recipe's data on them
(``heldout_offline_context.heldout_buffer``) and scores a run's agent on them with that data as
context, or with its own exploration, as the held-out tasks are scored.

    python baselines/sawyer-manip-remedies/fresh_layouts.py CELLS RUN_DIR [CHECKPOINT [CONTEXT]]

``CELLS`` is ``train`` or ``test``; ``CONTEXT`` is ``recipe`` (default) or ``exploration``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch
from heldout_offline_context import FAMILY, heldout_buffer

from smac_bench.envs import task_family
from smac_bench.envs.family import Task, TaskFamily
from smac_bench.envs.features import family_task_features
from smac_bench.envs.sawyer.tasks import TRAIN_COMBOS, _split_layouts
from smac_bench.harness.config import schedule_preset
from smac_bench.harness.envpool import EnvPool
from smac_bench.harness.evaluate import evaluate_tasks
from smac_bench.harness.restore import restore
from smac_bench.harness.run import family_setup

CELL_COLOUR = {"train": 0, "test": 1}
FRESH_LAYOUTS = 8  # one per training combination, as many as the held-out split has
LAYOUT_SEED = {"train": 7, "test": 8}  # the frozen list was drawn with 2025


def family_with_layouts(cells: str, layouts: int, seed: int, split: str) -> tuple[TaskFamily, list[int]]:
    """The frozen family plus ``layouts`` new ones (training combinations cycled) in ``cells``, their tasks
    added to ``split`` (``"train"`` or ``"test"``), and the new tasks' ids."""
    frozen = task_family(FAMILY)
    first_layout = 1 + max(int(t.params["layout"]) for t in frozen.tasks)  # 38 on task list v1, 308 on v2
    params = _split_layouts(layouts, TRAIN_COMBOS, CELL_COLOUR[cells], first_layout, np.random.default_rng(seed))
    ids = list(range(len(frozen.tasks), len(frozen.tasks) + len(params)))
    tasks = frozen.tasks + tuple(Task(k, p) for k, p in zip(ids, params, strict=True))
    if split == "train":
        return dataclasses.replace(frozen, tasks=tasks, train_ids=frozen.train_ids + tuple(ids)), ids
    return dataclasses.replace(frozen, tasks=tasks, test_ids=frozen.test_ids + tuple(ids)), ids


def use_family(family: TaskFamily) -> None:
    """Make every loaded smac-bench module see ``family`` under its name (this process only)."""
    loaded = task_family

    def patched(name: str) -> TaskFamily:
        return family if name == family.name else loaded(name)

    for name, module in list(sys.modules.items()):
        if name.startswith("smac_bench") and getattr(module, "task_family", None) is loaded:
            module.task_family = patched


def main(cells: str, run_dir: str, checkpoint: str = "online_end", context: str = "recipe") -> None:
    torch.set_num_threads(1)
    family, ids = family_with_layouts(cells, FRESH_LAYOUTS, LAYOUT_SEED[cells], "test")
    use_family(family)
    buffer = heldout_buffer(ids, Path(f"/tmp/sawyer-manip-fresh-{cells}-cells-scripted.npz"))
    agent = restore(run_dir, checkpoint=checkpoint)
    if agent.told_task:  # a bound: tell it the fresh tasks too
        agent.tell_tasks(family_task_features(FAMILY))
    pool = EnvPool(family_setup(FAMILY).make_env)
    try:
        df = evaluate_tasks(agent, pool, ids, schedule_preset("standard").protocol(), 12345,
                            "offline" if context == "recipe" else "exploration", "test", buffer)
    finally:
        pool.close()
    aims = {k: family.task(k).params["aim"] for k in ids}
    by_aim = df.assign(aim=df["task_id"].map(aims)).groupby("aim")["success"].agg(["mean", "size"])
    print(f"{run_dir} ({checkpoint}), {len(ids)} fresh tasks in {cells} cells, {context} context: "
          f"success {df['success'].mean():.3f}", flush=True)
    print(by_aim.round(3).to_string(), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
