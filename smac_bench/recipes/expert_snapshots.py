"""Behaviour snapshots for a dataset, picked from a long expert run (the ant-dir expert, issue #16).

The expert run (:mod:`smac_bench.recipes.ant_expert`) saves an actor at every evaluation and scores
it on the held-out directions (``curve.csv``: mean action, 2 episodes per direction). A dataset's
behaviour should walk from standing to walking, as cheetah-vel's does, so :func:`pick_snapshots`
takes the untrained actor, the expert (the best mean over 3 consecutive evaluations, the issue's
criterion) and evaluations in between whose scores are spread evenly from one to the other.
:func:`export_snapshots` copies them into the shipped layout (``policy-k.safetensors`` +
``index.json``, read by :func:`smac_bench.recipes.snapshots.load_snapshots`) with the learning
curve, the random policy's score and the standing-still score beside them, for the card.

The ant-dir expert's snapshots act through the ant's four-fold symmetry
(:class:`~smac_bench.recipes.policies.QuarterTurnPolicy`): :func:`choose_centre` picks the window of
directions the last snapshot walks best on *training* directions, :func:`quarter_turn_curve` rescores
every snapshot that way on the test directions, and the picks and the card use those scores.

Usage::

    python -m smac_bench.recipes.expert_snapshots RUN_DIR OUT_DIR [--num 6]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from smac_bench.envs.features import task_features
from smac_bench.errors import UserError
from smac_bench.recipes.policies import QuarterTurnPolicy, SnapshotPolicy
from smac_bench.recipes.rollout import rollout
from smac_bench.utils.io import atomic_write_csv, atomic_write_json

CENTRES_DEG = (0, 15, 30, 45, 60, 75)
"""Window centres :func:`choose_centre` tries (a centre and centre + 90 degrees are the same window)."""


def read_curve(run_dir: str | Path, name: str = "curve.csv", minimum: int = 3) -> list[dict[str, float]]:
    """The expert run's evaluations, in training order."""
    path = Path(run_dir) / name
    try:
        with open(path, newline="") as f:
            rows = [{k: float(v) if v not in ("", None) else float("nan") for k, v in row.items()}
                    for row in csv.DictReader(f)]
    except FileNotFoundError:
        raise UserError(f"{path} is missing: is {run_dir} an expert run folder?") from None
    if len(rows) < minimum:
        raise UserError(f"{path} has {len(rows)} evaluations; an export needs at least {minimum}")
    return rows


def _snapshot(run_dir: Path, env_steps: float) -> Path:
    """The actor snapshot the expert run saved at ``env_steps``."""
    return run_dir / "snapshots" / f"step-{int(env_steps):07d}.safetensors"


def _test_ids(row: dict[str, float]) -> list[int]:
    """The test directions a curve row scores (its ``return_<id>`` columns)."""
    return sorted(int(c.split("_")[1]) for c in row if c.startswith("return_"))


def pick_snapshots(curve: list[dict[str, float]], num: int) -> list[int]:
    """Indices into ``curve``: the first, the expert, and ``num - 2`` spread evenly in score between them."""
    scores = np.array([row["mean_return"] for row in curve])
    smoothed = np.convolve(scores, np.ones(3) / 3, mode="valid")  # mean of 3 consecutive evaluations
    expert = int(np.argmax(smoothed)) + 2  # the last of the best three
    picks = [0]
    targets = np.linspace(scores[0], scores[expert], num)[1:-1]
    for target in targets:  # the first evaluation after the last pick that reaches the target
        later = [i for i in range(picks[-1] + 1, expert) if scores[i] >= target]
        picks.append(later[0] if later else min(picks[-1] + 1, expert - 1))
    picks.append(expert)
    return sorted(set(picks))


def turned_returns(snapshot: str | Path, centre_deg: float, task_ids: list[int], seed: int,
                   episodes: int = 2) -> dict[int, float]:
    """Mean return per direction of a snapshot acting through :class:`QuarterTurnPolicy` (mean actions)."""
    policy = QuarterTurnPolicy(SnapshotPolicy.load(snapshot), math.radians(centre_deg))
    eps = rollout("ant-dir", task_ids, [policy.act], lambda k: task_features("ant-dir", k), seed,
                  episodes_per_task=episodes, deterministic=True)
    return {k: float(np.mean([e.ret for e in eps if e.task_id == k])) for k in task_ids}


def choose_centre(snapshot: str | Path, seed: int, train_ids: list[int]) -> tuple[float, dict[float, float]]:
    """The window centre (degrees) with the best mean return of ``snapshot`` on ``train_ids``, and every centre's."""
    means = {c: float(np.mean(list(turned_returns(snapshot, c, train_ids, seed).values()))) for c in CENTRES_DEG}
    return max(means, key=lambda c: means[c]), means


def quarter_turn_curve(run_dir: str | Path, centre_deg: float, seed: int) -> list[dict[str, float]]:
    """``curve.csv`` rescored with every snapshot acting through the quarter turns around ``centre_deg``.

    Written to ``curve-quarter-turns-<centre>.csv`` in the run folder, row by row, so an interrupted
    rescoring resumes where it stopped.
    """
    run_dir = Path(run_dir)
    plain = read_curve(run_dir)
    test_ids = _test_ids(plain[0])
    path = run_dir / f"curve-quarter-turns-{centre_deg:g}.csv"
    done = {int(r["env_steps"]): r for r in read_curve(run_dir, path.name, minimum=0)} if path.is_file() else {}
    rows = []
    for row in plain:
        steps = int(row["env_steps"])
        if steps not in done:
            per_dir = turned_returns(_snapshot(run_dir, steps), centre_deg, test_ids, seed)
            done[steps] = {"env_steps": steps, "updates": row["updates"], "wall_s": row["wall_s"],
                           "mean_return": float(np.mean(list(per_dir.values()))),
                           "min_return": float(min(per_dir.values())),
                           **{f"return_{k}": v for k, v in per_dir.items()}}
            print(f"{steps} env steps: quarter-turn test mean {done[steps]['mean_return']:.1f}, "
                  f"min {done[steps]['min_return']:.1f}", flush=True)
            atomic_write_csv(path, [done[s] for s in sorted(done)])
        rows.append(done[steps])
    return rows


def baseline_scores(env_id: str, task_ids: list[int], seed: int, episodes: int = 2) -> dict[str, float]:
    """Mean test return of a uniform random policy and of standing still (zero actions)."""
    import gymnasium

    env = gymnasium.make(env_id)
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {"random": [], "standing": []}
    for name in out:
        for k in task_ids:
            for e in range(episodes):
                env.reset(seed=seed * 1000 + 10 * k + e, options={"task_id": int(k)})
                total, done = 0.0, False
                while not done:
                    a = rng.uniform(-1, 1, env.action_space.shape) if name == "random" else np.zeros(
                        env.action_space.shape)
                    _, r, term, trunc, _ = env.step(a.astype(np.float32))
                    total, done = total + float(r), term or trunc
                out[name].append(total)
    env.close()
    return {name: float(np.mean(v)) for name, v in out.items()}


def export_snapshots(run_dir: str | Path, out_dir: str | Path, num: int = 6) -> dict[str, Any]:
    """Copy ``num`` snapshots of the expert run into ``out_dir`` with an ``index.json``; returns the index.

    The snapshots act through the quarter turns (:func:`choose_centre` on every 4th training
    direction with the run's last snapshot); the picks and ``ref_max_score`` use those test scores.
    """
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    config = json.loads((run_dir / "config.json").read_text())
    seed = int(config.get("seed", 0)) + 1
    plain = read_curve(run_dir)
    last = _snapshot(run_dir, plain[-1]["env_steps"])
    centre, centre_means = choose_centre(last, seed, [int(k) for k in config["train_task_ids"][::4]])
    print(f"window centre {centre} degrees (training-direction means {centre_means})", flush=True)
    curve = quarter_turn_curve(run_dir, centre, seed)
    picks = pick_snapshots(curve, num)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("policy-*.safetensors"):
        old.unlink()
    entries = []
    for k, i in enumerate(picks):
        row = curve[i]
        steps = int(row["env_steps"])
        shutil.copyfile(_snapshot(run_dir, steps), out_dir / f"policy-{k}.safetensors")
        entries.append({"file": f"policy-{k}.safetensors", "env_steps": steps, "updates": int(row["updates"]),
                        "wall_s": row["wall_s"], "test_return": row["mean_return"], "test_min": row["min_return"],
                        "test_return_without_turns": plain[i]["mean_return"]})
    test_ids = _test_ids(curve[0])
    env_id = config.get("env_id", "smac_bench/AntDir-v1")
    base = baseline_scores(env_id, test_ids, seed=seed)
    expert = entries[-1]
    keys = ("env_steps", "updates", "wall_s", "mean_return", "min_return")
    index = {
        "family": config.get("family", "ant-dir"), "env_id": env_id, "seed": config.get("seed", 0),
        "algorithm": "direction-conditioned SAC with relabelling (smac_bench.recipes.ant_expert), acting "
                     "through the ant's quarter-turn symmetry (QuarterTurnPolicy)",
        "sac_config": config.get("sac_config"), "source_run": str(run_dir),
        "quarter_turn_centre_deg": centre, "quarter_turn_centre_means": centre_means,
        "snapshots": entries,
        "learning_curve": [{k: row[k] for k in keys} for row in curve],
        "learning_curve_without_turns": [{k: row[k] for k in keys} for row in plain],
        "eval": {"tasks": "test", "task_ids": test_ids, "episodes_per_task": 2, "actions": "mean (deterministic)"},
        "ref_min_score": base["random"], "standing_score": base["standing"],
        "ref_max_score": expert["test_return"], "ref_max_policy": expert["file"],
    }
    atomic_write_json(out_dir / "index.json", index)
    return index


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Pick behaviour snapshots from an expert run.")
    p.add_argument("run_dir")
    p.add_argument("out_dir")
    p.add_argument("--num", type=int, default=6)
    args = p.parse_args(argv)
    index = export_snapshots(args.run_dir, args.out_dir, args.num)
    for s in index["snapshots"]:
        print(f"{s['file']}: {s['env_steps']} env steps, test return {s['test_return']:.1f}")
    print(f"random {index['ref_min_score']:.1f}, standing {index['standing_score']:.1f}, "
          f"expert {index['ref_max_score']:.1f}")


if __name__ == "__main__":
    main()
