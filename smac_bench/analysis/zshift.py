"""``smac-bench analyze zshift RUN_DIR``: the z-space distribution shift of offline meta-RL.

An encoder trained only on offline data sees contexts from the behaviour policy; at test time
it must read contexts the *learned* policy collects while exploring with ``z ~ p(z)``. SMAC's
self-supervised online phase exists to close that gap. This analysis measures it on the run's
offline-context training tasks (the only tasks with offline data), with both checkpoints:

* ``offline_end`` — before the self-supervised phase, ``online_end`` — after it;
* for each, ``KL(q(z | c) || p(z))`` of contexts drawn from the offline data and of contexts
  collected by exploration rollouts (protocol v1, same tasks, same seeds), and the return of the
  final trajectory after adapting with each kind of context.

Outputs ``zshift.csv`` (one row per checkpoint x context source x task x run) and ``zshift.png``
(KL histograms per checkpoint; mean return per checkpoint and context source).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from smac_bench.data.buffer import MultiTaskBuffer  # noqa: E402
from smac_bench.errors import UserError  # noqa: E402
from smac_bench.harness.envpool import make_pool  # noqa: E402
from smac_bench.harness.evaluate import evaluate_tasks  # noqa: E402
from smac_bench.harness.protocol import ProtocolV1, offline_task_ids  # noqa: E402
from smac_bench.harness.restore import restore  # noqa: E402
from smac_bench.harness.results import read_config  # noqa: E402
from smac_bench.harness.run import TaskSetup, family_setup  # noqa: E402
from smac_bench.utils.io import atomic_write_text  # noqa: E402

CHECKPOINTS = ("offline_end", "online_end")
SOURCE_COLORS = {"offline": "tab:blue", "exploration": "tab:orange"}


def zshift_table(
    run_dir: str | Path,
    *,
    buffer: MultiTaskBuffer | None = None,
    env_spec: TaskSetup | None = None,
    num_runs: int = 4,
    device: str | None = None,
) -> pd.DataFrame:
    """KL and returns per (checkpoint, context source, task, run) for a finished run folder."""
    run_dir = Path(run_dir)
    cfg = read_config(run_dir)
    if not cfg:
        raise UserError(f"{run_dir} has no config.json: point at a run folder written by `smac-bench evaluate`")
    ckpts = [c for c in CHECKPOINTS if (run_dir / "checkpoints" / c / "agent").exists()]
    if not ckpts:
        raise UserError(f"{run_dir} has no checkpoints/offline_end or online_end: let the run finish its "
                        "offline phase (or `smac-bench evaluate --resume`)")
    spec = env_spec or family_setup(cfg["env"])
    device = device or cfg.get("device", "cpu")
    if buffer is None:
        from smac_bench.harness.datasets import load_offline_buffer

        buffer, _, _ = load_offline_buffer(cfg["env"], device)
    base = ProtocolV1.from_dict(cfg["protocol"])
    protocol = dataclasses.replace(base, num_runs=max(num_runs, 1))
    tasks = [k for k in offline_task_ids(spec.train_ids, protocol.num_offline_tasks) if k in set(buffer.task_ids)]
    pool = make_pool(spec.make_env, int(cfg.get("eval_workers") or 0) if env_spec is None else 0)
    frames = []
    try:
        for ckpt in ckpts:
            agent = restore(run_dir, checkpoint=ckpt, device=device)
            for source in ("offline", "exploration"):
                df = evaluate_tasks(agent, pool, tasks, protocol, cfg["seed"], source, "train", buffer=buffer,
                                    max_envs=(cfg.get("schedule") or {}).get("max_eval_envs"))
                frames.append(df.assign(checkpoint=ckpt))
    finally:
        pool.close()
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "seed", cfg["seed"])
    out.insert(0, "env", cfg["env"])
    out.insert(0, "algo", cfg["algo"])
    return out


def plot_zshift(table: pd.DataFrame, out: str | Path) -> Path:
    """KL histograms (one panel per checkpoint) and a return bar chart; saved to ``out``."""
    ckpts = [c for c in CHECKPOINTS if c in set(table["checkpoint"])]
    fig, axes = plt.subplots(1, len(ckpts) + 1, figsize=(4.5 * (len(ckpts) + 1), 3.8), squeeze=False)
    kl = table["posterior_kl"].to_numpy()
    bins = np.linspace(0.0, max(float(np.nanmax(kl)), 1e-6) * 1.05, 25)
    for ax, ckpt in zip(axes[0], ckpts, strict=False):
        for source, color in SOURCE_COLORS.items():
            v = table[(table["checkpoint"] == ckpt) & (table["context_source"] == source)]["posterior_kl"]
            ax.hist(v, bins=bins, alpha=0.55, color=color, label=f"{source} context (mean {v.mean():.2f})")
        ax.set_title(f"{ckpt.replace('_', ' ')}: KL(q(z|c) || p(z))")
        ax.set_xlabel("KL [nats]")
        ax.set_ylabel("contexts")
        ax.legend(fontsize=8)
    ax = axes[0][-1]
    means = table.groupby(["checkpoint", "context_source"])["return"].agg(["mean", "sem"]).reset_index()
    width = 0.38
    for i, (source, color) in enumerate(SOURCE_COLORS.items()):
        m = means[means["context_source"] == source].set_index("checkpoint").reindex(ckpts)
        x = np.arange(len(ckpts)) + (i - 0.5) * width
        ax.bar(x, m["mean"], width, yerr=m["sem"].fillna(0), color=color, alpha=0.8, label=f"{source} context")
    ax.set_xticks(np.arange(len(ckpts)), [c.replace("_", " ") for c in ckpts])
    ax.set_ylabel("final-trajectory return (train tasks)")
    ax.set_title("return after adapting")
    ax.legend(fontsize=8)
    first = table.iloc[0]
    fig.suptitle(f"z-shift: {first['algo']} on {first['env']}, seed {first['seed']}", fontsize=10)
    fig.tight_layout()
    from smac_bench.analysis.plots import _savefig

    _savefig(fig, Path(out))
    return out


def zshift_analysis(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    buffer: MultiTaskBuffer | None = None,
    env_spec: TaskSetup | None = None,
    num_runs: int = 4,
) -> tuple[Path, Path, pd.DataFrame]:
    """Compute the table, write ``zshift.csv`` and ``zshift.png`` (default: into the run folder)."""
    table = zshift_table(run_dir, buffer=buffer, env_spec=env_spec, num_runs=num_runs)
    out_dir = Path(out_dir or run_dir)
    csv_path = out_dir / "zshift.csv"
    atomic_write_text(csv_path, table.to_csv(index=False))
    fig_path = plot_zshift(table, out_dir / "zshift.png")
    return csv_path, fig_path, table


def zshift_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean KL and return per checkpoint and context source (printed by the CLI)."""
    return (table.groupby(["checkpoint", "context_source"])
            .agg(mean_kl=("posterior_kl", "mean"), mean_return=("return", "mean"), n=("return", "size"))
            .reset_index())
