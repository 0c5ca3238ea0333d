"""Train the ant-dir expert: a direction-conditioned SAC that walks every way (GitHub issue #16).

The final snapshot of the old 150k-step run scored 200.5 on the test directions while standing
still scores 194 (+1 per healthy step outweighs slow walking once the control cost is paid), so
its data never walks. This run is long (1-1.5M env steps, hours on 2 CPU cores), hence resumable::

    python -m smac_bench.recipes.ant_expert --out DIR --total-env-steps 1500000
    python -m smac_bench.recipes.ant_expert --out DIR --resume        # after a kill / reboot

It trains on ``smac_bench/AntDir-v1`` (PEARL's 27-number observation) on the training directions
only (tasks 0-99), appends ``(cos theta, sin theta)`` to the observation (as
:func:`smac_bench.envs.features.task_features` does for the snapshots' rollouts) and relabels
80 % of every batch with another training direction (:data:`ANT_DIR_RELABEL`). ``DIR`` gets
``config.json``, ``curve.csv`` (test mean/min/per-direction returns every ``eval_every`` steps),
``snapshots/step-XXXXXXX.safetensors`` (the dataset later picks behaviour policies among them)
and ``checkpoints/``. argparse, not typer: the CLI layer is being moved (only ``cli/`` knows typer).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from smac_bench.algos.sac import Relabel, SACConfig, train_task_aware_sac
from smac_bench.envs import task_family
from smac_bench.envs.features import task_features
from smac_bench.utils.io import atomic_write_json

ENV_ID = "smac_bench/AntDir-v1"


def _ant_info(info: dict[str, Any], reward: float) -> np.ndarray:
    """Planar torso velocity and the direction-free part of the reward (healthy - ctrl - contact)."""
    return np.array([info["x_velocity"], info["y_velocity"], reward - info["reward_forward"]], np.float32)


def _ant_reward(info: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """``v_xy . (cos theta', sin theta') + rest`` for features ``(cos theta', sin theta')``."""
    return info[:, 0] * feats[:, 0] + info[:, 1] * feats[:, 1] + info[:, 2]


ANT_DIR_RELABEL = Relabel(info_dim=3, info_of_step=_ant_info, reward=_ant_reward)
"""Ant-Dir's reward is linear in the direction features, so any stored step can be rescored."""


def expert_config(total_env_steps: int = 1_500_000) -> SACConfig:
    """The expert's hyper-parameters: picked by the throughput measurements in the commit message."""
    return SACConfig(hidden=(256, 256), total_env_steps=total_env_steps, start_steps=10_000, num_envs=16,
                     updates_per_step=0.5, batch_size=512, replay_size=1_500_000, threads=1,
                     relabel_frac=0.8, eval_every=25_000, eval_episodes=2, checkpoint_every=25_000)


def _git_commit() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return {"commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def train_expert(out: str | Path, config: SACConfig, seed: int = 0, resume: bool = False,
                 progress: bool = False, stop_after_checkpoint_at: int | None = None) -> dict[str, Any]:
    """Train (or resume) the expert in ``out``; refuses to reuse a folder without ``resume``."""
    import gymnasium

    import smac_bench  # noqa: F401  (registers the env ids)

    out = Path(out)
    if not resume and out.exists() and any(out.iterdir()):
        raise SystemExit(f"error: {out} exists and is not empty; pass --resume to continue it or choose another --out")
    if resume and not (out / "config.json").is_file():
        raise SystemExit(f"error: {out}/config.json is missing: nothing to resume; start without --resume")
    fam = task_family("ant-dir")
    record = {"env_id": ENV_ID, "seed": seed,
              "train_task_ids": list(fam.train_ids), "test_task_ids": list(fam.test_ids),
              "features": "(cos theta, sin theta) appended to the observation", "relabel": "ANT_DIR_RELABEL",
              "sac_config": asdict(config), "git": _git_commit(), "argv": sys.argv}
    if resume:
        old = json.loads((out / "config.json").read_text())
        record["resumes"] = [*old.get("resumes", []), {"git": record["git"], "argv": sys.argv}]
        record["git"] = old.get("git")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "config.json", record)
    return train_task_aware_sac(
        lambda: gymnasium.make(ENV_ID), fam.train_ids, lambda k: task_features("ant-dir", k), config, seed,
        progress=progress, relabel=ANT_DIR_RELABEL, run_dir=out, resume=resume, eval_task_ids=fam.test_ids,
        snapshot_meta={"family": "ant-dir", "env_id": ENV_ID}, stop_after_checkpoint_at=stop_after_checkpoint_at)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="run folder (created; must be empty unless --resume)")
    p.add_argument("--total-env-steps", type=int, default=1_500_000)
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    p.add_argument("--seed", type=int, default=0)
    overridable = {"num_envs": int, "updates_per_step": float, "batch_size": int, "threads": int,
                   "relabel_frac": float, "eval_every": int, "checkpoint_every": int, "start_steps": int}
    for name, kind in overridable.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None)
    p.add_argument("--hidden", type=str, default=None, help="comma-separated widths, e.g. 256,256,256")
    args = p.parse_args(argv)
    config = expert_config(args.total_env_steps)
    if args.resume and (Path(args.out) / "config.json").is_file():  # a resume keeps the run's own config
        saved = json.loads((Path(args.out) / "config.json").read_text())["sac_config"]
        config = SACConfig(**{f.name: saved[f.name] for f in fields(SACConfig) if f.name in saved})
        config.hidden = tuple(config.hidden)
        config.total_env_steps = args.total_env_steps
    for name in overridable:
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    if args.hidden:
        config.hidden = tuple(int(w) for w in args.hidden.split(","))
    summary = train_expert(args.out, config, args.seed, args.resume)
    print(f"done: {summary['env_steps']} env steps, {summary['updates']} updates, "
          f"{summary['wall_s']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
