"""Scripted behaviour for the Sawyer recipe: waypoint controllers plus Gaussian action noise.

As in the SMAC paper, every action carries N(0, 0.1^2) noise. Mixed quality comes from *which
aim* an episode pursues: the first episodes of each task pursue another aim that the task's scene
allows (press the button of a drawer task, reach a point, ...), the rest pursue the task's own.
The rewards are always the task's own, so an off-aim episode is labelled as the failure it is —
the reward labels, not the actions, tell the tasks apart, as offline meta-RL needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from smac_bench.envs import task_family

NOISE_STD = 0.1  # the paper's action noise (actions are in [-1, 1])
OFF_AIM_EPISODES = 2  # of a task's 6 episodes, the first 2 pursue another aim


def other_aims(task_id: int, params: dict, n: int, seed: int = 0) -> list[tuple[str, tuple | None]]:
    """``n`` (aim, goal) pairs other than the task's own that its scene allows, fixed by the ids.

    Aims that need a goal (reach, place the puck) get one drawn in a *training* cell of the
    table, so off-aim data never points at the regions held out for test tasks. A drawer that
    starts shut is not "closed" again (that would be the task's no-op, not another aim). A
    scene with fewer than ``n`` other aims fills in with reaching other points.
    """
    from smac_bench.envs.sawyer.tasks import (
        AIM_NEEDS,
        AIMS,
        ANCHOR_BOUNDS,
        GOAL_Z,
        cell_colour,
        scene_task,
    )

    st = scene_task(params)
    drawer = st.objects.get("drawer")
    allowed = [a for a in AIMS if a != st.aim and AIM_NEEDS[a] <= set(st.objects)
               and not (a == "close_drawer" and drawer is not None and drawer.opening == 0.0)]
    rng = np.random.default_rng([seed, task_id, 7])  # 7 tags this stream apart from other per-task draws
    # Distinct aims first; past them, reaching (another point) fills in.
    aims = [allowed[int(i)] for i in rng.permutation(len(allowed))][:n]
    picks = []
    for aim in aims + ["reach"] * (n - len(aims)):
        goal = None
        if aim in GOAL_Z:  # reach / place_puck: a goal point of its own, in a training cell
            while True:
                x, y = rng.uniform(*ANCHOR_BOUNDS[aim])
                if cell_colour(x, y) == 0:
                    break
            goal = (float(x), float(y), float(rng.uniform(*GOAL_Z[aim])))
        picks.append((aim, goal))
    return picks


class NoisyScripted:
    """``clip(controller(obs) + noise_std * eps)`` for a batch of rows on different tasks.

    ``off_aim=None`` runs each task's own controller; ``off_aim=j`` runs the ``j``-th of
    :func:`other_aims` for each task instead.
    """

    def __init__(self, family: str, noise_std: float = NOISE_STD, off_aim: int | None = None) -> None:
        self.family, self.noise_std, self.off_aim = family, float(noise_std), off_aim
        what = "scripted (own aim)" if off_aim is None else f"scripted (other aim {off_aim + 1})"
        self.name = f"{what} + N(0,{noise_std:g}^2)"

    @cached_property
    def _controllers(self) -> dict[int, tuple[object, str | None, tuple | None]]:
        from smac_bench.envs.sawyer.tasks import scene_task

        out = {}
        for t in task_family(self.family).tasks:
            aim, goal = (None, None)
            if self.off_aim is not None:
                aim, goal = other_aims(t.task_id, t.params, self.off_aim + 1)[self.off_aim]
            out[t.task_id] = (scene_task(t.params), aim, goal)
        return out

    def __call__(self, x: np.ndarray, noise: np.ndarray | None, task_ids: np.ndarray) -> np.ndarray:
        from smac_bench.envs.sawyer.scripted import scripted_action

        rows = []
        for o, k in zip(x, task_ids, strict=True):
            st, aim, goal = self._controllers[int(k)]
            rows.append(scripted_action(o, st, aim=aim, goal=goal))
        a = np.stack(rows)
        if noise is not None:
            a = a + self.noise_std * noise
        return np.clip(a, -1.0, 1.0).astype(np.float32)


def sawyer_behaviour(family: str, episodes: int = 6, off_aim: int = OFF_AIM_EPISODES,
                     noise_std: float = NOISE_STD) -> Sequence[NoisyScripted]:
    """The behaviour policies of the scripted Sawyer recipe, one per episode of a task, poor -> good:
    ``off_aim`` episodes of other aims, then the task's own controller (the last one, run without
    noise, sets ``ref_max_score``)."""
    return [NoisyScripted(family, noise_std, off_aim=j) for j in range(off_aim)] + \
        [NoisyScripted(family, noise_std) for _ in range(episodes - off_aim)]


# ---------------------------------------------------------------------------------------- v1
# sawyer-manip-v1: a layout hosts sibling tasks that only the reward tells apart. The behaviour is
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
    """The behaviour policies of the scripted-v1 recipe, one per episode slot of a task: every
    sibling's aim ``episodes_per_aim`` times (slots cycle through the siblings). A recipe using
    them records ``episodes_per_aim * S * horizon`` transitions a task, S the most siblings a
    training layout has (every training layout of sawyer-manip-v1 has 4: 1,600 transitions)."""
    train = set(task_family(family).train_ids)
    most = max(len(ids) for ids in layout_siblings(family).values() if ids[0] in train)
    return [SiblingScripted(family, e, noise_std, seed) for e in range(episodes_per_aim * most)]
