"""``smac-bench plot``: learning curves — score vs training step, one panel per domain.

A seed's score at an evaluation = mean final-trajectory return over the test tasks and runs
(exploration context by default). Lines are the mean over seeds; bands are 95 % percentile
bootstrap intervals of that mean over seeds. A dotted vertical line marks the end of the
offline phase (``train_step`` counts offline updates, then offline updates + online env steps).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window (CI, ssh)
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from smac_bench.analysis.stats import bootstrap_mean_ci  # noqa: E402


def curve_table(df: pd.DataFrame, context: str = "exploration", reps: int = 1000) -> pd.DataFrame:
    """Per (env, algo, evaluation): mean over seeds and its 95 % bootstrap band.

    Seeds are matched by the k-th evaluation of each phase, not by the exact step: the harness
    counts the env steps an agent reports, and an agent may collect a few more than asked (runs
    made before online budgets were exact did so on Ant, whose episodes end early), so seeds can
    be evaluated a few steps apart. ``train_step`` is the seeds' mean step at that evaluation.
    """
    sub = df[df["context_source"] == context]
    keys = ["env", "algo", "seed", "phase"]
    per_seed = sub.groupby([*keys, "train_step"], as_index=False)["return"].mean()
    per_seed["k"] = per_seed.groupby(keys)["train_step"].rank(method="dense")
    rows = []
    for (env, algo, _phase, _k), g in per_seed.groupby(["env", "algo", "phase", "k"]):
        ci = bootstrap_mean_ci(g["return"].to_numpy(), reps=reps)
        rows.append({"env": env, "algo": algo, "train_step": round(float(g["train_step"].mean())),
                     "mean": ci.point, "low": ci.low, "high": ci.high, "n_seeds": len(g)})
    return pd.DataFrame(rows).sort_values(["env", "algo", "train_step"], ignore_index=True)


def plot_curves(df: pd.DataFrame, out: str | Path, context: str = "exploration") -> Path:
    """Write the learning-curve figure of ``df`` (an episodes table) to ``out``; returns the path."""
    curves = curve_table(df, context)
    if curves.empty:
        raise ValueError(f"no {context}-context evaluations to plot")
    envs = sorted(curves["env"].unique())
    fig, axes = plt.subplots(1, len(envs), figsize=(5.5 * len(envs), 4), squeeze=False)
    algos = sorted(curves["algo"].unique())
    colors = {a: plt.get_cmap("tab10")(i % 10) for i, a in enumerate(algos)}
    for ax, env in zip(axes[0], envs, strict=True):
        for algo in algos:
            c = curves[(curves["env"] == env) & (curves["algo"] == algo)].sort_values("train_step")
            if c.empty:
                continue
            n = int(c["n_seeds"].max())
            ax.plot(c["train_step"], c["mean"], marker="o", ms=3, color=colors[algo], label=f"{algo} ({n} seeds)")
            ax.fill_between(c["train_step"], c["low"], c["high"], color=colors[algo], alpha=0.2, lw=0)
        offline = df[(df["env"] == env) & (df["phase"] == "offline")]["train_step"]
        online = df[(df["env"] == env) & (df["phase"] == "online")]["train_step"]
        if len(offline) and len(online):
            boundary = float(offline.max())
            ax.axvline(boundary, color="0.4", ls=":", lw=1)
            ax.annotate(" offline | online ", (boundary, 1.0), xycoords=("data", "axes fraction"),
                        ha="center", va="bottom", fontsize=8, color="0.3")
        ax.set_title(env, pad=14)
        ax.set_xlabel("training step (offline updates, then + online env steps)")
        ax.set_ylabel(f"final-trajectory return ({context} context)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    protocol = ", ".join(sorted(df["protocol"].unique()))
    fig.suptitle(f"smac-bench protocol {protocol}: mean over seeds, 95% bootstrap CI", fontsize=10)
    fig.tight_layout()
    _savefig(fig, Path(out))
    return out


def _savefig(fig: plt.Figure, out: Path) -> None:
    """Save via a temp file + rename so a reader never sees half a PNG."""
    import os
    import tempfile

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=out.suffix or ".png", dir=out.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        Path(tmp).unlink(missing_ok=True)

