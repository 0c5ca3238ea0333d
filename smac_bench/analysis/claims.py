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
* (c) SMAC's online-end minus offline-end score, paired: holds when the interval lies above 0
  (the z-shift half of claim 3 is ``smac-bench analyze zshift``'s ``zshift_claim3.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

HEADLINE = "exploration"


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


def seed_scores(df: pd.DataFrame, algo: str, point: str, refs: dict[str, tuple[float, float]]) -> pd.Series:
    """Per-seed mean headline score of ``algo`` at ``point`` (``"offline end"`` or ``"online end"``)."""
    rows = df[(df["algo"] == algo) & (df["context_source"] == HEADLINE) & (df["split"] == "test")]
    phase = "offline" if point == "offline end" else "online"
    rows = rows[rows["phase"] == phase]
    if rows.empty:
        return pd.Series(dtype=float)
    last = rows.groupby("seed")["train_step"].transform("max")
    rows = rows[rows["train_step"] == last]
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


def claims_table(df: pd.DataFrame, refs: dict[str, tuple[float, float]], reps: int = 10_000) -> pd.DataFrame:
    """One row per comparison the three claims rest on; ``holds`` as the module docstring says."""
    smac_on, smac_off = seed_scores(df, "smac", "online end", refs), seed_scores(df, "smac", "offline end", refs)
    oracle_on = seed_scores(df, "oracle", "online end", refs)
    oracle_off = seed_scores(df, "oracle", "offline end", refs)
    pearl = seed_scores(df, "offline-pearl", "online end", refs)
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
    return pd.DataFrame([c.__dict__ for c in out])
