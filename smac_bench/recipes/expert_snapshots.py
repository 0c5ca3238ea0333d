"""Behaviour snapshots for a dataset, picked from a long expert run (the ant-dir expert, issue #16).

The expert run (:mod:`smac_bench.recipes.ant_expert`) saves an actor at every evaluation and scores
it on the held-out directions (``curve.csv``: mean action, 2 episodes per direction). A dataset's
behaviour should walk from standing to walking, as cheetah-vel's does, so :func:`pick_snapshots`
takes the untrained actor, the expert (the best mean over 3 consecutive evaluations, the issue's
criterion) and evaluations in between whose scores are spread evenly from one to the other.
:func:`export_snapshots` copies them into the shipped layout (``policy-k.safetensors`` +
``index.json``, read by :func:`smac_bench.recipes.snapshots.load_snapshots`) with the learning
curve, the random policy's score and the standing-still score beside them, for the card.

Usage::

    python -m smac_bench.recipes.expert_snapshots RUN_DIR OUT_DIR [--num 6]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from smac_bench.errors import UserError
from smac_bench.utils.io import atomic_write_json


def read_curve(run_dir: str | Path) -> list[dict[str, float]]:
    """The expert run's evaluations, in training order."""
    path = Path(run_dir) / "curve.csv"
    try:
        with open(path, newline="") as f:
            rows = [{k: float(v) if v not in ("", None) else float("nan") for k, v in row.items()}
                    for row in csv.DictReader(f)]
    except FileNotFoundError:
        raise UserError(f"{path} is missing: is {run_dir} an expert run folder?") from None
    if len(rows) < 3:
        raise UserError(f"{path} has {len(rows)} evaluations; an export needs at least 3")
    return rows


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
    """Copy ``num`` snapshots of the expert run into ``out_dir`` with an ``index.json``; returns the index."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    config = json.loads((run_dir / "config.json").read_text())
    curve = read_curve(run_dir)
    picks = pick_snapshots(curve, num)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for k, i in enumerate(picks):
        row = curve[i]
        steps = int(row["env_steps"])
        shutil.copyfile(run_dir / "snapshots" / f"step-{steps:07d}.safetensors", out_dir / f"policy-{k}.safetensors")
        entries.append({"file": f"policy-{k}.safetensors", "env_steps": steps, "updates": int(row["updates"]),
                        "wall_s": row["wall_s"], "test_return": row["mean_return"], "test_min": row["min_return"]})
    test_ids = sorted(int(c.split("_")[1]) for c in curve[0] if c.startswith("return_"))
    env_id = config.get("env_id") or config.get("snapshot_meta", {}).get("env_id") or "smac_bench/AntDir-v1"
    base = baseline_scores(env_id, test_ids, seed=int(config.get("seed", 0)) + 1)
    expert = entries[-1]
    index = {
        "family": config.get("family", "ant-dir"), "env_id": env_id, "seed": config.get("seed", 0),
        "algorithm": "direction-conditioned SAC with relabelling (smac_bench.recipes.ant_expert)",
        "sac_config": config.get("sac_config"), "source_run": str(run_dir),
        "snapshots": entries,
        "learning_curve": [{k: row[k] for k in ("env_steps", "updates", "wall_s", "mean_return", "min_return")}
                           for row in curve],
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
