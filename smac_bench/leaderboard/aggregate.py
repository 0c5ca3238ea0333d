"""Aggregate scores of a leaderboard entry: IQM and a stratified-bootstrap 95% CI.

A thin layer over :mod:`smac_bench.analysis.stats`, so the leaderboard and ``smac-bench report``
compute the same numbers the same way (rliable definitions, Agarwal et al. 2021): the score
matrix is ``[num_seeds, num_tasks]``, IQM is the mean of the middle 50% of all its entries, and
the bootstrap resamples seeds independently within each task (the strata).
"""

from __future__ import annotations

import numpy as np

from smac_bench.analysis import stats

# Fixed so a rendered table is reproducible byte for byte.
BOOTSTRAP_SEED = 0
BOOTSTRAP_REPS = 2000


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all values: drops ``floor(n / 4)`` from each end (``trim_mean(x, 0.25)``)."""
    return stats.iqm(scores)


def stratified_bootstrap_ci(
    matrix: np.ndarray, reps: int = BOOTSTRAP_REPS, confidence: float = 0.95, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """Percentile CI of the IQM of a ``[num_seeds, num_tasks]`` matrix, one stratum per task."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise ValueError("stratified_bootstrap_ci needs a non-empty [num_seeds, num_tasks] matrix")
    interval = stats.stratified_bootstrap([m[:, j] for j in range(m.shape[1])], stats.iqm_rows, reps=reps,
                                          confidence=confidence, rng=seed)
    return interval.low, interval.high


def normalise(returns: np.ndarray, reference: tuple[float, float] | None) -> np.ndarray:
    """``100 * (return - random) / (expert - random)`` with the dataset's reference scores; raw when ``None``.

    Same scale as ``smac-bench report``: 0 = random policy, 100 = task-aware expert.
    """
    r = np.asarray(returns, dtype=np.float64)
    if reference is None:
        return r
    low, high = float(reference[0]), float(reference[1])
    if not np.isfinite(low) or not np.isfinite(high) or high <= low:
        raise ValueError(f"reference scores must be finite with expert > random, got {reference!r}")
    return stats.normalise(r, low, high)
