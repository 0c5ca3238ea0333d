"""How each smac-bench dataset is made: a named recipe per dataset id.

A recipe sits above ``algos`` and ``data``: it rolls out behaviour policies (shipped SAC
snapshots, or scripted controllers) on a family's *training* tasks and hands the episodes to
:mod:`smac_bench.data.minari_io`. ``build --from-scratch`` first retrains the snapshots.

Adding a dataset is one :class:`Recipe` in :data:`RECIPES`, e.g. a scripted Sawyer recipe only
sets ``behaviour="scripted"`` and a ``scripted`` factory instead of snapshots.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smac_bench.errors import UserError


@dataclass(frozen=True)
class Recipe:
    """Everything needed to rebuild one dataset deterministically.

    Attributes:
        dataset_id: Minari id, ``smac-bench/<family>/<name>-v<k>``.
        family: task family name.
        seed: recipe seed: env reset seeds and action noise of every episode derive from it.
        transitions_per_task: transitions recorded per training task (SMAC paper: 1,200).
        behaviour: ``"snapshots"`` (SAC learning history) or ``"scripted"``.
        sac: keyword overrides of :class:`smac_bench.algos.sac.SACConfig` for ``--from-scratch``.
        num_snapshots: policies along the learning history; a task's data walks through them
            in order (its first transitions from the untrained actor, its last from the final one).
        scripted: for scripted recipes, ``scripted(family) -> [policy, ...]`` poor -> good
            (see :mod:`smac_bench.recipes.scripted`); the last one, noise-free, sets ``ref_max_score``.
        description: one paragraph for the card and the Minari metadata.
        max_envs: envs alive at once while recording (``None``: one per task).
        expert: for snapshots picked from a long expert run (:mod:`smac_bench.recipes.expert_snapshots`)
            rather than trained by ``train_snapshots``: the commands that retrain them, which
            ``build --from-scratch`` prints instead of running (hours).
    """

    dataset_id: str
    family: str
    seed: int = 0
    transitions_per_task: int = 1200
    behaviour: str = "snapshots"
    sac: dict[str, Any] = field(default_factory=dict)
    num_snapshots: int = 6
    scripted: Callable[[str], Any] | None = None
    description: str = ""
    max_envs: int | None = None
    expert: str = ""


RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    RECIPES[recipe.dataset_id] = recipe
    return recipe


register(Recipe(
    dataset_id="smac-bench/cheetah-vel/mixed-v0",
    family="cheetah-vel",
    sac={"total_env_steps": 230_000, "threads": 1},
    description=(
        "Mixed-quality replay data of a task-aware SAC learning Cheetah-Vel on the 100 training "
        "tasks: 1,200 transitions (6 episodes x 200 steps) per task, the k-th episode of every task "
        "recorded with the k-th of 6 snapshots along the learner's history (untrained -> final)."
    ),
))
register(Recipe(
    dataset_id="smac-bench/ant-dir/mixed-v1",
    family="ant-dir",
    expert=("python -m smac_bench.recipes.ant_expert --out RUN --total-env-steps 800000 (5.4 h here on "
            "1-2 threads; --resume continues it), then python -m smac_bench.recipes.expert_snapshots "
            "RUN datasets/snapshots/ant-dir"),
    description=(
        "Mixed-quality data of a direction-conditioned SAC learning to walk on AntDir-v1 (PEARL's 27-number "
        "observation) on the 100 training directions: 1,200 transitions per task (episodes end early when "
        "the ant falls), recorded with 6 snapshots along the expert's history (untrained, then test "
        "returns spread evenly up to the expert), in order. Every snapshot acts through the ant's exact "
        "four-fold symmetry (QuarterTurnPolicy): it walks every direction as it walks the quarter it "
        "learnt best."
    ),
))


def _sawyer_scripted(family: str) -> list[Any]:
    from smac_bench.recipes.scripted import sibling_behaviour

    return list(sibling_behaviour(family))


register(Recipe(
    dataset_id="smac-bench/sawyer-manip/scripted-v2",
    family="sawyer-manip",
    behaviour="scripted",
    scripted=_sawyer_scripted,
    transitions_per_task=1600,
    max_envs=40,  # a Sawyer scene env holds ~25 MB: 120 at once would need ~3 GB
    description=(
        "Scripted Sawyer manipulation data on the 1,200 training tasks of task list v2 (300 table layouts, "
        "4 sibling tasks each that differ only in the unobserved aim or hidden goal point): waypoint "
        "controllers with Gaussian action noise (std 0.1, as in the SMAC paper), 1,600 transitions "
        "(8 episodes x 200 steps) per task. Episode slot e of every task pursues the aim of its layout's "
        "sibling e mod 4, with noise drawn per layout and slot, so all siblings of a layout record the same "
        "8 episodes, each labelled with its own reward (the relabelling of rlkit's relabel_offline_data, by "
        "simulation): 2 of a task's 8 episodes pursue its own aim, 6 a sibling's, and only the rewards say "
        "which. The 120 tasks of the first 30 layouts hold exactly scripted-v1's episodes."
    ),
))


def get_recipe(dataset_id: str) -> Recipe:
    """The recipe of ``dataset_id``; a one-line :class:`UserError` naming the known ones if there is none."""
    if dataset_id not in RECIPES:
        raise UserError(f"no recipe for dataset {dataset_id!r}: known ones are {', '.join(sorted(RECIPES))}")
    return RECIPES[dataset_id]


def sac_config(recipe: Recipe) -> Any:
    """The :class:`~smac_bench.algos.sac.SACConfig` a ``--from-scratch`` build of ``recipe`` trains with."""
    from smac_bench.algos.sac import SACConfig

    return SACConfig(**recipe.sac)
