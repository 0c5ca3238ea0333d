"""Build a dataset from its recipe: roll out the behaviour policies and write the Minari dataset.

``build(dataset_id)`` uses the shipped snapshots (fast, deterministic: same seed -> identical
arrays). ``build(dataset_id, from_scratch=True)`` retrains the snapshots first (slow; see the
dataset card for the measured cost). Keyword overrides make tiny datasets for tests.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from smac_bench.data import minari_io
from smac_bench.data.checks import record_local_build
from smac_bench.envs import family_spec, task_family
from smac_bench.envs.features import task_features
from smac_bench.errors import UserError
from smac_bench.recipes import Recipe, get_recipe, sac_config
from smac_bench.recipes.rollout import RANDOM, Episode, mean_return, rollout
from smac_bench.recipes.snapshots import load_snapshots, snapshot_dir, train_snapshots
from smac_bench.utils.progress import ProgressFn

REQUIREMENT_PACKAGES = ("smac-bench", "minari", "gymnasium", "mujoco", "numpy")


def requirements() -> list[str]:
    """Exact pins of the packages that produced (and can reload) a dataset."""
    out = []
    for name in REQUIREMENT_PACKAGES:
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return out


def snapshot_schedule(num_policies: int, transitions_per_task: int):
    """Policy index for a task's next episode: its position in the task's budget, poor -> good."""

    def schedule(done: int, _episodes: int) -> int:
        return min(num_policies - 1, done * num_policies // max(transitions_per_task, 1))

    return schedule


def scripted_refs(recipe: Recipe, expert, eval_tasks: int | None = None) -> dict[str, float]:
    """Reference scores of a scripted recipe on the test tasks: random vs noise-free controller."""
    fam = task_family(recipe.family)
    ids = list(fam.test_ids[:eval_tasks] if eval_tasks else fam.test_ids)
    kw = dict(episodes_per_task=1, deterministic=True, seed=recipe.seed + 1)
    lo = mean_return(rollout(recipe.family, ids, [], None, schedule=lambda _t, _e: RANDOM, **kw))[0]
    hi = mean_return(rollout(recipe.family, ids, [expert], None, **kw))[0]
    return {"ref_min_score": lo, "ref_max_score": hi}


def collect(
    recipe: Recipe,
    *,
    task_ids: Sequence[int] | None = None,
    transitions_per_task: int | None = None,
    max_episode_steps: int | None = None,
    snapshots: str | Path | None = None,
    eval_tasks: int | None = None,
    progress: ProgressFn | None = None,
) -> tuple[list[Episode], dict[str, Any]]:
    """Roll out a recipe's behaviour on its training tasks; returns episodes and provenance."""
    fam = task_family(recipe.family)
    ids = list(fam.train_ids if task_ids is None else task_ids)
    bad = [k for k in ids if fam.split_of(k) != "train"]
    if bad:
        raise UserError(f"tasks {bad} are test tasks of {recipe.family}: datasets hold training tasks only")
    budget = transitions_per_task or recipe.transitions_per_task
    if recipe.behaviour == "snapshots":
        folder = Path(snapshots or snapshot_dir(recipe.family))
        policies, index = load_snapshots(folder)
        acts = [p.act for p in policies]  # type: ignore[misc]
        schedule = snapshot_schedule(len(acts), budget)
        behaviour = {"kind": "snapshots", "folder": folder.name, "files": [s["file"] for s in index["snapshots"]],
                     "env_steps": [s["env_steps"] for s in index["snapshots"]],
                     "test_returns": [round(s["test_return"], 2) for s in index["snapshots"]],
                     "algorithm": index["algorithm"], "actions": "sampled (stochastic policy)",
                     **_expert_run(index, recipe)}
        refs = {"ref_min_score": index["ref_min_score"], "ref_max_score": index["ref_max_score"]}
        if "standing_score" in index:
            refs["standing_score"] = index["standing_score"]
        feats = lambda k: task_features(recipe.family, k)  # noqa: E731
    elif recipe.behaviour == "scripted":
        acts = recipe.scripted(recipe.family)
        schedule, feats = snapshot_schedule(len(acts), budget), None
        behaviour = {"kind": "scripted", "policies": [a.name for a in acts], "actions": "controller + noise",
                     "algorithm": "scripted waypoint controllers (smac_bench.envs.sawyer.scripted) + noise"}
        refs = scripted_refs(recipe, acts[-1], eval_tasks)
    else:  # pragma: no cover - guarded by the Recipe definitions
        raise ValueError(recipe.behaviour)
    episodes = rollout(recipe.family, ids, acts, feats, recipe.seed, transitions_per_task=budget,
                       schedule=schedule, max_episode_steps=max_episode_steps, progress=progress,
                       desc=f"{recipe.dataset_id} ({len(ids)} tasks)", max_envs=recipe.max_envs)
    meta = {
        "family": recipe.family, "split": "train", "task_ids": ids, "recipe": recipe.dataset_id,
        "seed": recipe.seed, "transitions_per_task": budget, "max_episode_steps": max_episode_steps
        or fam.max_episode_steps, "behaviour_policy": behaviour, "reference_scores": {
            "tasks": "test", "task_ids": list(fam.test_ids), "ref_min": "uniform random policy",
            "ref_max": "best behaviour snapshot, task-aware, mean actions"},
        **refs,
    }
    return episodes, meta


def _expert_run(index: dict[str, Any], recipe: Recipe) -> dict[str, Any]:
    """What a card shows of snapshots picked from a long expert run (nothing for ``train_snapshots`` ones)."""
    if not recipe.expert:
        return {}
    snaps = index["snapshots"]
    return {"updates": [s["updates"] for s in snaps], "wall_s": [round(s["wall_s"]) for s in snaps],
            "learning_curve": index["learning_curve"], "retrain": recipe.expert,
            **({"quarter_turn_centre_deg": index["quarter_turn_centre_deg"]}
               if "quarter_turn_centre_deg" in index else {})}


def dataset_version(dataset_id: str) -> int:
    """The ``k`` of ``smac-bench/<family>/<name>-v<k>``."""
    return int(dataset_id.rsplit("-v", 1)[1])


def build(
    dataset_id: str,
    *,
    from_scratch: bool = False,
    seed: int | None = None,
    task_ids: Sequence[int] | None = None,
    transitions_per_task: int | None = None,
    max_episode_steps: int | None = None,
    snapshots: str | Path | None = None,
    sac_overrides: dict[str, Any] | None = None,
    eval_tasks: int | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Build and install ``dataset_id``; returns a summary (timings, sizes).

    Args:
        from_scratch: retrain the behaviour snapshots into ``snapshots`` (default: the shipped
            folder ``datasets/snapshots/<family>``) before rolling them out.
        seed / task_ids / transitions_per_task / max_episode_steps: override the recipe (tests
            build tiny datasets this way).
        sac_overrides: fields of the SAC config for ``from_scratch`` (e.g. a tiny step budget).
        eval_tasks: score fresh snapshots on only the first ``eval_tasks`` test tasks (tests).
        progress: receives the rollout's (and snapshot training's) progress events.
    """
    recipe = get_recipe(dataset_id)
    if seed is not None:
        recipe = replace(recipe, seed=seed)
    summary: dict[str, Any] = {"dataset_id": dataset_id}
    if from_scratch:
        if recipe.behaviour != "snapshots":
            raise UserError(f"{dataset_id} is scripted: it has no behaviour snapshots to retrain from scratch")
        if recipe.expert:
            raise UserError(f"{dataset_id}'s snapshots come from a long expert run, too long for a build: "
                            f"run {recipe.expert}")
        cfg = replace(sac_config(recipe), **(sac_overrides or {}))
        t0 = time.perf_counter()
        fam = task_family(recipe.family)
        index = train_snapshots(recipe.family, snapshots or snapshot_dir(recipe.family), cfg,
                                seed=recipe.seed, num_snapshots=recipe.num_snapshots,
                                eval_task_ids=list(fam.test_ids[:eval_tasks]) if eval_tasks else None,
                                max_episode_steps=max_episode_steps, progress=progress)
        summary["train_s"] = round(time.perf_counter() - t0, 1)
        summary["sac_config"] = asdict(cfg)
        summary["snapshot_test_returns"] = [s["test_return"] for s in index["snapshots"]]
    t0 = time.perf_counter()
    episodes, meta = collect(recipe, task_ids=task_ids, transitions_per_task=transitions_per_task,
                             max_episode_steps=max_episode_steps, snapshots=snapshots, eval_tasks=eval_tasks,
                             progress=progress)
    summary["rollout_s"] = round(time.perf_counter() - t0, 1)
    # A build with overrides (a task subset, fewer transitions, another seed...) is not the benchmark's
    # dataset: say so in its metadata, so the harness can refuse to report numbers trained on it.
    overrides = {"seed": seed, "task_ids": task_ids, "transitions_per_task": transitions_per_task,
                 "max_episode_steps": max_episode_steps, "eval_tasks": eval_tasks, "sac_overrides": sac_overrides,
                 "snapshots": snapshots}
    custom = {k: (list(v) if k == "task_ids" else str(v) if k == "snapshots" else v)
              for k, v in overrides.items()
              if v is not None and not (k == "seed" and v == get_recipe(dataset_id).seed)}
    if custom:  # (absent from standard builds, whose bytes the manifest pins)
        meta["custom"] = custom
    t1 = time.perf_counter()
    minari_io.write_dataset(
        dataset_id, family_spec(recipe.family).env_id, episodes, description=recipe.description,
        algorithm_name=meta["behaviour_policy"].get("algorithm", meta["behaviour_policy"]["kind"]),
        ref_min_score=meta.pop("ref_min_score"), ref_max_score=meta.pop("ref_max_score"),
        requirements=requirements(), smac_bench_meta=meta,
        # From version 1 on, Minari's eval env is the held-out split (earlier versions stay byte-identical).
        eval_split="test" if dataset_version(dataset_id) >= 1 else None,
    )
    summary["write_s"] = round(time.perf_counter() - t1, 1)
    summary["local_build"] = None if custom else record_local_build(dataset_id)  # this CPU's rounding
    summary["episodes"] = len(episodes)
    summary["steps"] = sum(ep.length for ep in episodes)
    summary["random_episodes"] = sum(ep.policy == RANDOM for ep in episodes)
    return summary
