"""``smac-bench report``: IQM and mean with 95 % stratified-bootstrap CIs, raw and normalised.

Unit of analysis: the score of one seed on one task = the mean over the protocol's ``R`` runs of
the final-trajectory return, taken at the last evaluation of a phase ("offline end" = after the
offline phase, "online end" = after the self-supervised phase). Strata are tasks; the bootstrap
resamples seeds within each task. Normalised scores map a random policy to 0 and the expert to
100 using the dataset's reference scores stored in ``config.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smac_bench.analysis.stats import STATISTICS, Interval, normalise, stratified_bootstrap
from smac_bench.errors import UserError
from smac_bench.harness.results import read_config

PHASE_LABELS = {"offline": "offline end", "online": "online end"}


def phase_end_scores(df: pd.DataFrame) -> pd.DataFrame:
    """Per (env, algo, seed, phase, context, task) score at the last evaluation of each phase."""
    last = df.groupby(["env", "algo", "seed", "phase"])["train_step"].transform("max")
    end = df[df["train_step"] == last]
    keys = ["env", "algo", "seed", "phase", "split", "context_source", "task_id"]
    out = end.groupby(keys, as_index=False).agg(score=("return", "mean"), success=("success", "mean"))
    out["point"] = out["phase"].map(PHASE_LABELS).fillna(out["phase"])
    return out


def reference_table(run_dirs: list[str]) -> dict[str, tuple[float, float]]:
    """``env -> (random, expert)`` from the runs' ``config.json`` (falling back to the data module)."""
    refs: dict[str, tuple[float, float]] = {}
    for d in run_dirs:
        cfg = read_config(d)
        env, ref = cfg.get("env"), cfg.get("reference_scores")
        if env and ref and env not in refs:
            refs[env] = (float(ref["random"]), float(ref["expert"]))
        elif env and env not in refs and cfg.get("dataset_id"):
            try:
                from smac_bench.data import reference_scores

                lo, hi = reference_scores(cfg["dataset_id"])
                refs[env] = (float(lo), float(hi))
            except (ImportError, KeyError, ValueError, OSError, UserError):
                pass
    return refs


def standing_lines(run_dirs: list[str]) -> list[str]:
    """One line per env whose runs record a standing-still score: its return and normalised score."""
    lines: dict[str, str] = {}
    for d in run_dirs:
        cfg = read_config(d)
        ref = cfg.get("reference_scores") or {}
        if cfg.get("env") and "standing" in ref and cfg["env"] not in lines:
            norm = normalise(ref["standing"], ref["random"], ref["expert"])
            lines[cfg["env"]] = (f"{cfg['env']}: standing still scores {ref['standing']:.1f} (normalised "
                                 f"{norm:.1f}); an agent below it has not learnt to move the right way")
    return list(lines.values())


def _row(group: pd.DataFrame, reps: int, seed: int, refs: tuple[float, float] | None) -> dict[str, Any]:
    strata = [g["score"].to_numpy() for _, g in group.groupby("stratum")]
    row: dict[str, Any] = {"n_seeds": group["seed"].nunique(), "n_tasks": len(strata)}
    for name, fn in STATISTICS.items():
        ci = stratified_bootstrap(strata, fn, reps=reps, rng=seed)
        row.update(_flat(name, ci))
        if refs is not None:
            row.update(_flat(f"norm_{name}", ci.scaled(lambda x: normalise(x, *refs))))
    if group["success"].notna().any():
        row.update(_flat("success", stratified_bootstrap(
            [g["success"].dropna().to_numpy() for _, g in group.groupby("stratum")], STATISTICS["mean"],
            reps=reps, rng=seed)))
    return row


def _flat(name: str, ci: Interval) -> dict[str, float]:
    return {name: ci.point, f"{name}_low": ci.low, f"{name}_high": ci.high}


def report_table(
    df: pd.DataFrame, refs: dict[str, tuple[float, float]] | None = None, reps: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """One row per (env, algo, point, split, context): IQM/mean [95 % CI], normalised when refs are known.

    With several envs and reference scores for all of them, rows with ``env == "all"`` aggregate
    the normalised scores stratified by (env, task).
    """
    refs = refs or {}
    scores = phase_end_scores(df)
    scores["stratum"] = scores["env"] + "/" + scores["task_id"].astype(str)
    rows = []
    keys = ["env", "algo", "point", "split", "context_source"]
    for key, group in scores.groupby(keys, sort=True):
        rows.append({**dict(zip(keys, key, strict=True)), **_row(group, reps, seed, refs.get(key[0]))})
    envs = sorted(scores["env"].unique())
    if len(envs) > 1 and all(e in refs for e in envs):
        norm = scores.copy()
        norm["score"] = [normalise(s, *refs[e]) for s, e in zip(norm["score"], norm["env"], strict=True)]
        for key, group in norm.groupby(keys[1:], sort=True):
            r = _row(group, reps, seed, None)
            r = {k.replace("iqm", "norm_iqm").replace("mean", "norm_mean") if k.startswith(("iqm", "mean")) else k: v
                 for k, v in r.items()}
            rows.append({"env": "all", **dict(zip(keys[1:], key, strict=True)), **r})
    table = pd.DataFrame(rows)
    order = {"test": 0, "train": 1}
    table["_o"] = table["split"].map(order)
    return table.sort_values(["_o", "env", "point", "algo"]).drop(columns="_o").reset_index(drop=True)


def format_ci(point: float, low: float, high: float, digits: int = 1) -> str:
    """``"-52.3 [-60.1, -45.0]"``; blank for NaN."""
    if point is None or (isinstance(point, float) and np.isnan(point)):
        return ""
    return f"{point:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The report as strings, one column per statistic, for printing."""
    # ``split`` is implied by the context (exploration: test tasks, offline: train tasks): not shown.
    out = table[["env", "algo", "point", "context_source", "n_seeds", "n_tasks"]].copy()
    out = out.rename(columns={"context_source": "context", "n_seeds": "seeds", "n_tasks": "tasks"})
    for name, label in (("iqm", "IQM"), ("mean", "mean"), ("norm_iqm", "norm. IQM"), ("norm_mean", "norm. mean"),
                        ("success", "success")):
        if name in table:
            digits = 2 if name == "success" else 1
            # one seed: the seed bootstrap has nothing to resample, so show the point alone
            out[label] = [format_ci(p, lo, hi, digits) if n > 1 else ("" if pd.isna(p) else f"{p:.{digits}f}")
                          for p, lo, hi, n in zip(table[name], table[f"{name}_low"], table[f"{name}_high"],
                                                  table["n_seeds"], strict=True)]
    return out


def write_report(table: pd.DataFrame, path: str | Path) -> None:
    """The numeric report table as CSV (atomic)."""
    import io

    from smac_bench.utils.io import atomic_write_text

    buf = io.StringIO()
    table.to_csv(buf, index=False)
    atomic_write_text(path, buf.getvalue())
