"""A sawyer-manip run whose training data has more layouts than the frozen 30 (issue #18 probe)

``fresh_layouts.py`` finds that agents fail on *any* new layout, in training cells too: with 30 training
tables every network learns the tables. This probe adds ``LAYOUTS`` further training layouts (training cells
and combinations, their siblings as the task list lays them out) to the family for this process only, gives
them the recipe's data (``heldout_offline_context.heldout_buffer``: every sibling's aim twice, the recipe's
noise, 8 episodes a task), appends it to the scripted-v1 buffer and runs the agent on the lot at the
``standard`` schedule (``run_with.run_config``); held-out tasks, evaluation and protocol are the frozen ones.

    python baselines/sawyer-manip-remedies/more_layouts_run.py ALGO SEED OUT LAYOUTS [AGENT_JSON [SCHEDULE_JSON]]
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from fresh_layouts import family_with_layouts, use_family
from heldout_offline_context import heldout_buffer
from run_with import FAMILY, run_config

from smac_bench.data import load_buffer
from smac_bench.data.buffer import MultiTaskBuffer
from smac_bench.harness.datasets import dataset_id_of
from smac_bench.harness.run import run_experiment

LAYOUT_SEED = 9  # fresh_layouts.py draws its evaluation layouts with 7 and 8


def _copy_rows(out: MultiTaskBuffer, source: MultiTaskBuffer, task_ids: Sequence[int], rewards: torch.Tensor) -> None:
    """Append each of ``source``'s task slots to ``out`` as task ``task_ids[slot]``, with ``rewards[slot]``."""
    for slot, task_id in enumerate(task_ids):
        n = int(source.sizes[slot])
        out.add(task_id, source.obs[slot, :n], source.actions[slot, :n], rewards[slot, :n],
                source.next_obs[slot, :n], source.terminals[slot, :n])


def relabelled(source: MultiTaskBuffer, task_ids: Sequence[int], rewards: torch.Tensor) -> MultiTaskBuffer:
    """``source``'s transitions as other tasks: slot ``i`` becomes task ``task_ids[i]`` with ``rewards[i]``."""
    out = MultiTaskBuffer(list(task_ids), source.capacity, source.obs.shape[-1], source.actions.shape[-1])
    _copy_rows(out, source, task_ids, rewards)
    return out


def joined(*buffers: MultiTaskBuffer) -> MultiTaskBuffer:
    """One buffer holding every task of ``buffers`` (disjoint task ids), rows in their order."""
    first = buffers[0]
    out = MultiTaskBuffer([k for b in buffers for k in b.task_ids], max(b.capacity for b in buffers),
                          first.obs.shape[-1], first.actions.shape[-1])
    for b in buffers:
        _copy_rows(out, b, b.task_ids, b.rewards)
    return out


def main(algo: str, seed: int, out: str, layouts: int, overrides: dict, schedule_overrides: dict) -> None:
    torch.set_num_threads(1)
    family, ids = family_with_layouts("train", layouts, LAYOUT_SEED, "train")
    use_family(family)
    extra = heldout_buffer(ids, Path(f"/tmp/sawyer-manip-more-layouts-{layouts}-scripted.npz"))
    dataset = dataset_id_of(FAMILY)
    buffer = joined(load_buffer(dataset), extra)
    print(f"{len(buffer.task_ids)} training tasks on {family.extra['train_layouts'] + layouts} layouts", flush=True)
    cfg = dataclasses.replace(run_config(algo, seed, out, overrides, schedule_overrides), dataset_id=dataset)
    run_experiment(cfg, buffer=buffer, resume=True, torch_threads=1)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]),
         *(json.loads(arg) for arg in (sys.argv[5:] + ["{}", "{}"])[:2]))
