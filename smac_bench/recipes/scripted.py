"""Scripted behaviour for the Sawyer recipes (``scripted-v1``, ``-v2``): waypoint controllers plus Gaussian noise.

As in the SMAC paper, every action carries N(0, 0.1^2) noise. Mixed quality comes from *which
aim* an episode pursues: a task's episodes pursue each of its layout's siblings' aims in turn, so
a quarter of them (for 4 siblings) pursue its own. The rewards are always the task's own, so an
episode that pursues a sibling's aim is labelled as the failure it is: the reward labels, not the
observations or actions, tell the siblings apart, as offline meta-RL needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from smac_bench.envs import task_family

NOISE_STD = 0.1  # the paper's action noise (actions are in [-1, 1])

# sawyer-manip (v1): a layout hosts sibling tasks that only the reward tells apart. The behaviour is
# the same for every sibling of a layout: episode slot ``e`` pursues sibling ``e mod S``'s aim,
# with noise drawn from a stream keyed by the layout, not the task. The scene and the dynamics do
# not depend on the task either, so every sibling records the *same* episode, each labelled with
# its own reward: the relabelling of the original code (``relabel_offline_data`` in rlkit's
# ``smac/launcher_util.py``), obtained by simulation rather than by copying arrays.
EPISODES_PER_AIM_V1 = 2  # each sibling's aim is pursued twice per layout (8 episodes a task for 4 siblings)


def layout_siblings(family: str) -> dict[int, tuple[int, ...]]:
    """Task ids of every layout's siblings, in id order (``params["layout"]`` of a v1 family)."""
    out: dict[int, list[int]] = {}
    for t in task_family(family).tasks:
        out.setdefault(int(t.params["layout"]), []).append(t.task_id)
    return {layout: tuple(ids) for layout, ids in out.items()}


class SiblingScripted:
    """Episode slot ``slot`` of the v1 behaviour: on every task of a layout, the controller of the
    layout's sibling ``slot mod S`` plus N(0, noise_std^2) noise from the stream ``(seed, layout,
    slot)``, so all siblings of a layout take identical actions in identical states.

    The rollout's own per-task ``noise`` only says whether to add noise: its values are ignored,
    because per-task noise would give siblings different episodes. Called without noise (the
    reference run of :func:`smac_bench.recipes.build.scripted_refs`), it runs each task's own
    noise-free controller: the expert that sets ``ref_max_score``.
    """

    def __init__(self, family: str, slot: int, noise_std: float = NOISE_STD, seed: int = 0) -> None:
        self.family, self.slot, self.noise_std, self.seed = family, int(slot), float(noise_std), int(seed)
        self.name = f"scripted (sibling aim {slot} of each layout) + N(0,{noise_std:g}^2)"
        self._streams: dict[int, np.random.Generator] = {}

    @cached_property
    def _plan(self) -> dict[int, tuple[int, object, object]]:
        """task id -> (layout, the slot's controller scene, the task's own scene)."""
        from smac_bench.envs.sawyer.tasks import scene_task

        fam = task_family(self.family)
        plan = {}
        for layout, ids in layout_siblings(self.family).items():
            pursued = scene_task(fam.task(ids[self.slot % len(ids)]).params)
            for k in ids:
                plan[k] = (layout, pursued, scene_task(fam.task(k).params))
        return plan

    def __call__(self, x: np.ndarray, noise: np.ndarray | None, task_ids: np.ndarray) -> np.ndarray:
        from smac_bench.envs.sawyer.scripted import scripted_action

        rows = []
        for o, k in zip(x, task_ids, strict=True):
            layout, pursued, own = self._plan[int(k)]
            if noise is None:
                rows.append(scripted_action(o, own))
                continue
            if int(k) not in self._streams:
                self._streams[int(k)] = np.random.default_rng([self.seed, layout, self.slot, 11])
            eps = self._streams[int(k)].standard_normal(4)  # the Sawyer action: hand xyz, gripper
            rows.append(scripted_action(o, pursued) + self.noise_std * eps)
        return np.clip(np.stack(rows), -1.0, 1.0).astype(np.float32)


def sibling_behaviour(family: str, episodes_per_aim: int = EPISODES_PER_AIM_V1, noise_std: float = NOISE_STD,
                      seed: int = 0) -> Sequence[SiblingScripted]:
    """The behaviour policies of the scripted recipes (v1, v2), one per episode slot of a task: every
    sibling's aim ``episodes_per_aim`` times (slots cycle through the siblings). A recipe using
    them records ``episodes_per_aim * S * horizon`` transitions a task, S the most siblings a
    training layout has (every training layout of sawyer-manip has 4: 1,600 transitions)."""
    train = set(task_family(family).train_ids)
    most = max(len(ids) for ids in layout_siblings(family).values() if ids[0] in train)
    return [SiblingScripted(family, e, noise_std, seed) for e in range(episodes_per_aim * most)]
