"""Behaviour-policy snapshots: train them from scratch, load them, score them on test tasks.

Layout of ``<dir>`` (``datasets/snapshots/<family>/`` for the shipped ones)::

    policy-0.safetensors ... policy-{n-1}.safetensors   # actor at increasing env-step counts
    index.json    # env steps, training wall time, test returns of each snapshot, reference scores
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from smac_bench.envs import make_env, task_family
from smac_bench.envs.features import task_features
from smac_bench.errors import UserError
from smac_bench.paths import datasets_dir
from smac_bench.recipes.policies import QuarterTurnPolicy, SnapshotPolicy
from smac_bench.recipes.rollout import RANDOM, mean_return, rollout
from smac_bench.utils.io import atomic_write_json
from smac_bench.utils.progress import Counter, ProgressFn


def snapshot_dir(family: str) -> Path:
    """Where the shipped snapshots of ``family`` live."""
    return datasets_dir() / "snapshots" / family


def snapshot_fractions(n: int) -> list[float]:
    """Fractions of training at which the ``n`` snapshots are taken: 0 (untrained) ... 1 (final).

    Spaced quadratically because a learner improves fastest early: this spreads the snapshots'
    *quality* more evenly than equal step spacing would.
    """
    return [round((i / (n - 1)) ** 1.5, 4) if n > 1 else 1.0 for i in range(n)]


def load_index(directory: str | Path) -> dict[str, Any]:
    """Read ``index.json`` of a snapshot directory; :class:`UserError` if it is missing or bad."""
    path = Path(directory) / "index.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path} is missing: restore datasets/snapshots from git, or rebuild with "
                        "`smac-bench datasets build NAME --from-scratch`") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc}): restore it from git") from None


def load_snapshots(directory: str | Path) -> tuple[list[SnapshotPolicy], dict[str, Any]]:
    """The policies of a snapshot directory, in training order, and its index.

    An index with ``quarter_turn_centre_deg`` (the ant-dir expert's) wraps every snapshot in a
    :class:`QuarterTurnPolicy` around that window centre.
    """
    index = load_index(directory)
    policies: list[Any] = [SnapshotPolicy.load(Path(directory) / s["file"]) for s in index["snapshots"]]
    if "quarter_turn_centre_deg" in index:
        centre = math.radians(index["quarter_turn_centre_deg"])
        policies = [QuarterTurnPolicy(p, centre) for p in policies]
    return policies, index


def evaluate(family: str, policy: SnapshotPolicy | None, task_ids: list[int], seed: int,
             episodes: int = 1, max_episode_steps: int | None = None) -> tuple[float, float]:
    """Mean/std return of ``policy`` (mean actions; ``None`` = uniform random) on ``task_ids``."""
    eps = rollout(family, task_ids, [policy.act] if policy else [],
                  lambda k: task_features(family, k), seed, episodes_per_task=episodes,
                  deterministic=True, schedule=(lambda _t, _e: 0) if policy else (lambda _t, _e: RANDOM),
                  max_episode_steps=max_episode_steps)
    return mean_return(eps)


def train_snapshots(family: str, out_dir: str | Path, config: Any, seed: int = 0, num_snapshots: int = 6,
                    eval_episodes: int = 2, eval_task_ids: list[int] | None = None,
                    max_episode_steps: int | None = None, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Train the task-aware SAC on the training tasks and write ``num_snapshots`` snapshots.

    Afterwards each snapshot and the random policy are scored on the *test* tasks (task-aware,
    mean actions): the random score is ``ref_min_score`` and the best snapshot's is
    ``ref_max_score`` of every dataset built from these snapshots. With ``progress`` the SAC
    training shows its own bar (``algos/sac.py`` still draws with tqdm) and each scored snapshot
    is reported as an event.
    """
    from smac_bench.algos.sac import train_task_aware_sac

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fam = task_family(family)
    steps = [int(round(f * config.total_env_steps)) for f in snapshot_fractions(num_snapshots)]
    entries: list[dict[str, Any]] = []

    def on_snapshot(agent, env_steps: int, stats: dict[str, float]) -> None:
        name = f"policy-{len(entries)}.safetensors"
        agent.snapshot(str(out / name), {"family": family, "env_steps": env_steps, "seed": seed})
        entries.append({"file": name, "env_steps": env_steps, **stats})

    t0 = time.perf_counter()
    summary = train_task_aware_sac(lambda: make_env(family), fam.train_ids, lambda k: task_features(family, k),
                                   config, seed, steps, on_snapshot, progress is not None)
    train_s = time.perf_counter() - t0
    test = list(eval_task_ids or fam.test_ids)
    scored = Counter(progress, f"score {family} snapshots", len(entries), "snapshot")
    for e in entries:
        e["test_return"], e["test_return_std"] = evaluate(
            family, SnapshotPolicy.load(out / e["file"]), test, seed + 1, eval_episodes, max_episode_steps)
        scored.update(1, status=f"{e['file']}: {e['env_steps']} steps, test return {e['test_return']:.1f}")
    rand_mean, rand_std = evaluate(family, None, test, seed + 1, max(eval_episodes, 3), max_episode_steps)
    best = max(entries, key=lambda e: e["test_return"])
    index = {
        "family": family,
        "seed": seed,
        "algorithm": "task-aware SAC (smac_bench.algos.sac), task features appended to obs",
        "sac_config": asdict(config),
        "train_wall_s": round(train_s, 1),
        "total_wall_s": round(time.perf_counter() - t0, 1),
        "updates": summary["updates"],
        "snapshots": entries,
        "eval": {"tasks": "test", "task_ids": test, "episodes_per_task": eval_episodes,
                 "max_episode_steps": max_episode_steps or fam.max_episode_steps,
                 "actions": "mean (deterministic)"},
        "ref_min_score": rand_mean,
        "ref_min_score_std": rand_std,
        "ref_max_score": best["test_return"],
        "ref_max_policy": best["file"],
    }
    atomic_write_json(out / "index.json", index)
    return index

