"""The paper's three claims as intervals over seeds (issue #17): does SMAC beat offline PEARL, match the
oracle, and gain from its self-supervised online phase?

Each run contributes one number per evaluation point: its mean final-episode score over the
held-out tasks (exploration context), normalised (0 = random, 100 = the dataset's expert) when the
runs record reference scores. Intervals resample whole seeds (percentile bootstrap). Runs that
share their offline phase (SMAC and the oracle of one seed; one run's two ends) are compared
paired by seed, the rest unpaired:

* (a) SMAC's online-end score minus offline PEARL's: holds when the interval lies above 0;
* (b) SMAC minus the oracle at the online end, paired: holds when the interval contains 0 or lies
  above it, *and* the oracle's own online gain (online end minus offline end, paired) is above 0;
* (c) SMAC's online-end minus offline-end score, paired: holds when the interval lies above 0;
  and its z-shift half, given the runs' ``zshift_claim3.csv`` (``smac-bench analyze zshift``): the
  within-task KL between exploration- and offline-context posteriors, normalised by the between-task
  KL, at the online end minus the offline end, paired: holds when the interval lies below 0.

The same comparisons can be read on training tasks with offline context (``context="offline"``) and on
success rates in percent (``metric="success"``): for sparse-reward families (sawyer-manip), where the
headline score sits at 0 for every agent, they say where the agents do differ; the headline stays the
held-out, exploration-context score.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from smac_bench.errors import UserError

HEADLINE = "exploration"
CONTEXT_SPLITS = {"exploration": "test", "offline": "train"}
"""The split each context source is evaluated on (protocol v2)."""
METRICS = ("score", "success")
CLAIM3_FILE = "zshift_claim3.csv"


@dataclass(frozen=True)
class Comparison:
    claim: str
    what: str
    paired: bool
    seeds: int
    estimate: float
    low: float
    high: float
    holds: bool


def seed_scores(df: pd.DataFrame, algo: str, point: str, refs: dict[str, tuple[float, float]],
                context: str = HEADLINE, metric: str = "score") -> pd.Series:
    """Per-seed mean score (or success rate in percent, ``metric="success"``) of ``algo`` at ``point``
    (``"offline end"`` or ``"online end"``) with ``context`` (``"exploration"``: held-out tasks, the headline;
    ``"offline"``: training tasks)."""
    rows = df[(df["algo"] == algo) & (df["context_source"] == context) & (df["split"] == CONTEXT_SPLITS[context])]
    phase = "offline" if point == "offline end" else "online"
    rows = rows[rows["phase"] == phase]
    if rows.empty:
        return pd.Series(dtype=float)
    last = rows.groupby("seed")["train_step"].transform("max")
    rows = rows[rows["train_step"] == last]
    if metric == "success":
        return 100 * rows.groupby("seed")["success"].mean()
    scores = rows.groupby(["seed", "env"])["return"].mean().reset_index()
    if refs:
        lo_hi = scores["env"].map(refs)
        scores["return"] = [100 * (r - lo) / (hi - lo) for r, (lo, hi) in zip(scores["return"], lo_hi, strict=True)]
    return scores.groupby("seed")["return"].mean()


def _interval(stat: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(stat, [tail, 100 - tail])
    return float(low), float(high)


def paired_difference(a: pd.Series, b: pd.Series, reps: int = 10_000, rng: int = 0) -> tuple[float, float, float, int]:
    """Mean of ``a - b`` over the seeds both have, with a bootstrap interval over those seeds."""
    seeds = sorted(set(a.index) & set(b.index))
    diff = (a[seeds] - b[seeds]).to_numpy(dtype=float)
    if len(diff) == 0:
        raise ValueError("no seed in common: paired comparisons need the same seeds on both sides")
    draws = diff[np.random.default_rng(rng).integers(0, len(diff), size=(reps, len(diff)))].mean(axis=1)
    return float(diff.mean()), *_interval(draws), len(diff)


def unpaired_difference(a: pd.Series, b: pd.Series, reps: int = 10_000, rng: int = 0) -> tuple[float, float, float]:
    """Mean of ``a`` minus mean of ``b``, each side's seeds resampled on their own."""
    gen = np.random.default_rng(rng)
    x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    if not len(x) or not len(y):
        raise ValueError("both sides need at least one seed")
    draws = (x[gen.integers(0, len(x), size=(reps, len(x)))].mean(axis=1)
             - y[gen.integers(0, len(y), size=(reps, len(y)))].mean(axis=1))
    return float(x.mean() - y.mean()), *_interval(draws)


def load_claim3(run_dirs: Iterable[str | Path]) -> pd.DataFrame:
    """Every ``zshift_claim3.csv`` among ``run_dirs`` (one row per run and checkpoint); empty if none."""
    frames = [pd.read_csv(Path(d) / CLAIM3_FILE) for d in run_dirs if (Path(d) / CLAIM3_FILE).is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def kl_ratio_by_seed(claim3: pd.DataFrame, checkpoint: str) -> pd.Series:
    """SMAC's normalised within-task KL (``kl_ratio``) per seed at ``checkpoint`` (``offline_end``/``online_end``)."""
    if claim3.empty:
        return pd.Series(dtype=float)
    rows = claim3[(claim3["algo"] == "smac") & (claim3["checkpoint"] == checkpoint)]
    return rows.groupby("seed")["kl_ratio"].mean()


def claims_table(df: pd.DataFrame, refs: dict[str, tuple[float, float]], reps: int = 10_000,
                 claim3: pd.DataFrame | None = None, context: str = HEADLINE, metric: str = "score") -> pd.DataFrame:
    """One row per comparison the three claims rest on; ``holds`` as the module docstring says.

    ``claim3``: the SMAC runs' z-shift rows (:func:`load_claim3`); without them claim (c) is tested
    on scores only. ``context`` and ``metric``: what :func:`seed_scores` reads (the headline by default).
    """
    if context not in CONTEXT_SPLITS:
        raise UserError(f"--context must be one of {', '.join(CONTEXT_SPLITS)}, not {context!r}")
    if metric not in METRICS:
        raise UserError(f"--metric must be one of {', '.join(METRICS)}, not {metric!r}")
    if metric == "success" and df["success"].isna().all():
        raise UserError("these runs record no success (their family has none): use --metric score")

    def scores(algo: str, point: str) -> pd.Series:
        return seed_scores(df, algo, point, refs, context, metric)

    smac_on, smac_off = scores("smac", "online end"), scores("smac", "offline end")
    oracle_on, oracle_off = scores("oracle", "online end"), scores("oracle", "offline end")
    pearl = scores("offline-pearl", "online end")
    out: list[Comparison] = []
    if len(smac_on) and len(pearl):
        est, lo, hi = unpaired_difference(smac_on, pearl, reps)
        out.append(Comparison("a", "SMAC - offline PEARL (online end)", False, min(len(smac_on), len(pearl)),
                              est, lo, hi, lo > 0))
    if len(smac_on) and len(oracle_on) and len(oracle_off):
        gain, g_lo, g_hi, n_gain = paired_difference(oracle_on, oracle_off, reps)
        est, lo, hi, n = paired_difference(smac_on, oracle_on, reps)
        out.append(Comparison("b", "oracle online gain (online - offline end)", True, n_gain, gain, g_lo, g_hi,
                              g_lo > 0))
        out.append(Comparison("b", "SMAC - oracle (online end)", True, n, est, lo, hi, hi >= 0 and g_lo > 0))
    if len(smac_on) and len(smac_off):
        est, lo, hi, n = paired_difference(smac_on, smac_off, reps)
        out.append(Comparison("c", "SMAC online end - offline end", True, n, est, lo, hi, lo > 0))
    claim3 = pd.DataFrame() if claim3 is None else claim3
    kl_on, kl_off = kl_ratio_by_seed(claim3, "online_end"), kl_ratio_by_seed(claim3, "offline_end")
    if len(set(kl_on.index) & set(kl_off.index)):
        est, lo, hi, n = paired_difference(kl_on, kl_off, reps)
        out.append(Comparison("c", "SMAC within/between KL, online end - offline end", True, n, est, lo, hi,
                              hi < 0))
    return pd.DataFrame([c.__dict__ for c in out])
