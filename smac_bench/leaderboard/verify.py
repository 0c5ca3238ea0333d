"""``smac-bench leaderboard verify``: re-evaluate submitted checkpoints on seeds nobody chose.

For every training seed the checkpoint is evaluated under the submission's protocol with an *evaluation*
seed derived from the sha256 of submission.json and a salt, so the submitter could not pick
favourable seeds (a maintainer can pass a private salt for more assurance). The entry is marked
verified when the two estimates agree within the stated tolerance: the re-evaluated IQM lies
inside the submitted 95% CI, or the submitted IQM inside the re-evaluated one (other evaluation
seeds, CPU models and thread counts all move float results, so exact equality is not asked).
The verdict goes into the ledger ``<root>/verified.json`` (:mod:`~smac_bench.leaderboard.ledger`),
keyed by the sha256 of the exact submission.json it checked, with the machine it ran on.

Checkpoints are plain safetensors + JSON (validate refuses anything else) loaded through the
agent registry; submitted code is never imported or run, so only registered algos can be verified.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smac_bench.errors import UserError
from smac_bench.leaderboard import schema as S
from smac_bench.leaderboard.aggregate import iqm, normalise, stratified_bootstrap_ci
from smac_bench.leaderboard.crosscheck import agent_config_problems
from smac_bench.leaderboard.episodes import check_episodes
from smac_bench.leaderboard.ledger import machine_info, record_verdict
from smac_bench.leaderboard.validate import Entry, ReferenceLookup, reference_scores, validate_submission

DEFAULT_SALT = "smac-bench/leaderboard/verify/v1"
# Evaluation seeds start far above the small integers people train with, so they never coincide.
_SEED_OFFSET = 1_000_000


@dataclass(frozen=True)
class EvalRequest:
    """One checkpoint to evaluate on the held-out tasks, under the submission's protocol (``v1`` or ``v2``)."""

    algo: str
    env: str
    checkpoint_dir: Path
    config: Mapping[str, Any]
    train_seed: int
    eval_seed: int
    device: str = "cpu"
    protocol: str = "v1"


#: Evaluates one checkpoint; returns rows with at least task_id, run, context_source, return, success.
Evaluator = Callable[[EvalRequest], pd.DataFrame]


def verification_seeds(submission_sha256: str, count: int, salt: str = DEFAULT_SALT) -> list[int]:
    """``count`` distinct evaluation seeds derived from the submission hash and ``salt``."""
    seeds: list[int] = []
    i = 0
    while len(seeds) < count:
        digest = hashlib.sha256(f"{salt}\n{submission_sha256}\n{i}".encode()).digest()
        seed = _SEED_OFFSET + int.from_bytes(digest[:4], "little") % (2**31 - _SEED_OFFSET)
        if seed not in seeds:
            seeds.append(seed)
        i += 1
    return seeds


def harness_evaluator(req: EvalRequest) -> pd.DataFrame:
    """Default :data:`Evaluator`: restore the registered agent from the checkpoint, run the submission's protocol."""
    from smac_bench.algos.base import registered_agent
    from smac_bench.harness.envpool import EnvPool
    from smac_bench.harness.evaluate import evaluate_tasks
    from smac_bench.harness.protocol import protocol_from_dict
    from smac_bench.harness.restore import restore
    from smac_bench.harness.run import family_setup

    spec = family_setup(req.env)
    run_config = {"preset": "quick", **req.config, "algo": req.algo, "env": req.env}
    try:
        registered_agent(req.algo)
    except UserError as exc:
        raise UserError(f"cannot re-evaluate algo {req.algo!r}: {exc} (only registered agents can be "
                        "verified)") from None
    agent = restore(req.checkpoint_dir, run_config=run_config, seed=req.train_seed, device=req.device)
    pool = EnvPool(spec.make_env)
    try:
        protocol = protocol_from_dict({"version": req.protocol})  # paper values: the only ones accepted
        return evaluate_tasks(agent, pool, spec.test_ids, protocol, req.eval_seed, "exploration", "test")
    finally:
        pool.close()


def verify_submission(
    path: str | Path,
    *,
    evaluator: Evaluator | None = None,
    salt: str = DEFAULT_SALT,
    device: str = "cpu",
    reference: ReferenceLookup | None = None,
    progress: Callable[[int, int], None] | None = None,
    root: str | Path | None = None,
    **validate_kwargs: Any,
) -> dict[str, Any]:
    """Re-evaluate every checkpoint of the submission at ``path``; records and returns the verdict.

    The verdict goes into the ledger of the leaderboard folder ``root`` (default: the folder two
    levels above ``path``, i.e. ``<root>/submissions/<name>``). ``progress(train_seed, eval_seed)``
    is called before each checkpoint's evaluation (minutes each on CPU).
    """
    reference = reference or reference_scores
    entry = validate_submission(path, reference=reference, **validate_kwargs)
    meta = entry.meta
    checkpoints = meta.get("checkpoints", {})
    missing = [s for s in meta["seeds"] if str(s) not in checkpoints]
    if missing:
        raise UserError(f"{entry.path}: no checkpoint for seed(s) {missing}; verify re-runs the submitted policies, "
                        "so submit with checkpoints")
    evaluator = evaluator or harness_evaluator
    seeds = sorted(meta["seeds"])
    eval_seeds = dict(zip(seeds, verification_seeds(entry.submission_sha256, len(seeds), salt), strict=True))
    frames = []
    for seed in seeds:
        config = json.loads((entry.path / f"configs/seed{seed}.json").read_text())
        problems = agent_config_problems(config.get("agent_config"), f"configs/seed{seed}.json")
        if problems:
            raise UserError(f"{entry.path}: cannot re-evaluate: {'; '.join(problems)}")
        req = EvalRequest(algo=meta["algo"], env=meta["env"], checkpoint_dir=entry.path / checkpoints[str(seed)],
                          config=config, train_seed=seed, eval_seed=eval_seeds[seed], device=device,
                          protocol=meta["protocol"])
        if progress is not None:
            progress(seed, eval_seeds[seed])
        try:
            evaluated = evaluator(req)
        except UserError:
            raise
        except Exception as exc:  # a submitted checkpoint that validates can still fail to load
            raise UserError(f"{entry.path}: the checkpoint of seed {seed} cannot be re-evaluated "
                            f"({type(exc).__name__}: {str(exc)[:200]})") from None
        frames.append(_as_episode_rows(evaluated, entry, seed))
    reeval = _rescore(pd.concat(frames, ignore_index=True), entry, reference)
    sub_low, sub_high = entry.ci
    re_iqm, (re_low, re_high) = reeval["iqm"], reeval["ci95"]
    verified = bool(sub_low <= re_iqm <= sub_high or re_low <= entry.iqm <= re_high)
    record = {
        "schema_version": S.SCHEMA_VERSION,
        "submission_sha256": entry.submission_sha256,
        "verified": verified,
        "tolerance": "re-evaluated IQM inside the submitted 95% CI, or submitted IQM inside the re-evaluated 95% CI",
        "submission": entry.path.name,
        "salt": "default" if salt == DEFAULT_SALT else "private",
        "salt_sha256": hashlib.sha256(salt.encode()).hexdigest(),
        "eval_seeds": {str(k): v for k, v in eval_seeds.items()},
        "normalised": entry.normalised,
        "submitted": {"iqm": entry.iqm, "ci95": list(entry.ci), "mean": entry.mean},
        "reevaluated": reeval,
        "device": device,
        "machine": machine_info(),
        "date": _dt.date.today().isoformat(),
    }
    record_verdict(Path(root) if root is not None else entry.path.parent.parent, entry.submission_sha256, record)
    return record


def _as_episode_rows(df: pd.DataFrame, entry: Entry, seed: int) -> pd.DataFrame:
    """Evaluator output in episodes.csv form, placed at the submission's final evaluation point."""
    need = {"task_id", "run", "return"}
    if not isinstance(df, pd.DataFrame) or not need <= set(df.columns):
        if not isinstance(df, pd.DataFrame):
            raise UserError(f"the evaluator returned {type(df).__name__} for seed {seed}, not a DataFrame")
        raise UserError(f"the evaluator returned columns {sorted(df.columns)}; it must give {sorted(need)}")
    out = pd.DataFrame({
        "protocol": entry.meta["protocol"], "algo": entry.meta["algo"], "env": entry.meta["env"], "seed": seed,
        "phase": entry.final.phase, "train_step": entry.final.train_step,
        "task_id": df["task_id"].astype(int).to_numpy(), "run": df["run"].astype(int).to_numpy(),
        "context_source": df.get("context_source", pd.Series(["exploration"] * len(df))).to_numpy(),
        "return": df["return"].astype(float).to_numpy(),
        "success": df.get("success", pd.Series([np.nan] * len(df))).astype(float).to_numpy(),
        "split": df.get("split", pd.Series([""] * len(df))).to_numpy(),
    })
    if not np.isfinite(out["return"]).all():
        raise UserError(f"re-evaluation of seed {seed} produced non-finite returns")
    return out


def _rescore(df: pd.DataFrame, entry: Entry, reference: ReferenceLookup) -> dict[str, Any]:
    import smac_bench

    family = smac_bench.task_family(entry.meta["env"])
    final = check_episodes(df, protocol=entry.meta["protocol"], algo=entry.meta["algo"], env=entry.meta["env"],
                           seeds=entry.meta["seeds"], train_ids=family.train_ids, test_ids=family.test_ids,
                           num_runs=entry.final.num_runs)
    scores = normalise(final.returns, reference(entry.meta["dataset"]["id"]))
    return {"iqm": float(iqm(scores)), "ci95": list(stratified_bootstrap_ci(scores)), "mean": float(scores.mean()),
            "success_rate": final.success_rate}
