"""Aggregate statistics with bootstrap confidence intervals (Agarwal et al., 2021, "rliable" style).

* IQM — interquartile mean: the mean of the middle 50 % of all scores, ``scipy.stats.trim_mean(x, 0.25)``
  (drops ``floor(n / 4)`` scores from each end, as rliable does).
* Stratified bootstrap: scores are grouped in strata (one per task, or per (env, task)); each
  bootstrap replicate resamples, with replacement, the seeds *within* every stratum and recomputes
  the statistic over all resampled scores. A 95 % percentile interval is returned.

Implemented with numpy (vectorised over replicates) rather than the ``rliable`` package, which
would add arch, statsmodels, seaborn and five more packages for these ~50 lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

Statistic = Callable[[np.ndarray], np.ndarray]  # [reps, n] -> [reps]


def iqm(x: np.ndarray | Sequence[float]) -> float:
    """Interquartile mean of all values (flattened)."""
    return float(sps.trim_mean(np.asarray(x, dtype=float).ravel(), 0.25))


def iqm_rows(x: np.ndarray) -> np.ndarray:
    """IQM of each row of ``[reps, n]`` (vectorised ``trim_mean(row, 0.25)``)."""
    x = np.sort(x, axis=1)
    k = int(0.25 * x.shape[1])
    return x[:, k:x.shape[1] - k].mean(axis=1)


def mean_rows(x: np.ndarray) -> np.ndarray:
    """Mean of each row of ``[reps, n]``."""
    return x.mean(axis=1)


STATISTICS: dict[str, Statistic] = {"iqm": iqm_rows, "mean": mean_rows}


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap confidence interval."""

    point: float
    low: float
    high: float

    def scaled(self, fn: Callable[[float], float]) -> Interval:
        """Apply an increasing map (e.g. score normalisation) to all three numbers."""
        return Interval(fn(self.point), fn(self.low), fn(self.high))


def stratified_bootstrap(
    strata: Sequence[np.ndarray],
    statistic: Statistic,
    reps: int = 2000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = 0,
) -> Interval:
    """Percentile CI of ``statistic`` over all scores, resampling within each stratum.

    Args:
        strata: one 1-D array of scores per stratum (e.g. the per-seed scores of one task);
            sizes may differ.
        statistic: maps ``[reps, n]`` resampled scores to ``[reps]`` values (``iqm_rows``...).
        reps: bootstrap replicates.
        confidence: interval mass (0.95 gives the 2.5 / 97.5 percentiles).
        rng: generator or seed (a fixed default keeps reports reproducible).
    """
    strata = [np.asarray(s, dtype=float).ravel() for s in strata if np.size(s)]
    if not strata:
        raise ValueError("no scores to aggregate")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    point = float(statistic(np.concatenate(strata)[None, :])[0])
    samples = np.concatenate([s[rng.integers(0, len(s), size=(reps, len(s)))] for s in strata], axis=1)
    values = statistic(samples)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(point, float(low), float(high))


def bootstrap_mean_ci(
    values: np.ndarray | Sequence[float], reps: int = 2000, confidence: float = 0.95, rng: int | None = 0
) -> Interval:
    """Percentile bootstrap CI of the mean of ``values`` (one stratum). One value: a zero-width band."""
    return stratified_bootstrap([np.asarray(values, dtype=float)], mean_rows, reps, confidence, rng)


def normalise(score: float, random: float, expert: float) -> float:
    """``100 * (score - random) / (expert - random)``: 0 = random policy, 100 = expert."""
    return 100.0 * (score - random) / (expert - random)
