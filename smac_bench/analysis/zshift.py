"""``smac-bench analyze zshift RUN_DIR``: the z-space distribution shift of offline meta-RL.

An encoder trained only on offline data sees contexts from the behaviour policy; at test time
it must read contexts the *learned* policy collects while exploring with ``z ~ p(z)``. SMAC's
self-supervised online phase exists to close that gap. This analysis measures it on the run's
offline-context training tasks (the only tasks with offline data), with both checkpoints:

* ``offline_end`` — before the self-supervised phase, ``online_end`` — after it;
* for each, ``KL(q(z | c) || p(z))`` of contexts drawn from the offline data and of contexts
  collected by exploration rollouts (protocol v1, same tasks, same seeds), and the return of the
  final trajectory after adapting with each kind of context.

*Claim 3* (the paper's within- vs between-task KL, rlkit's ``MetaRLAlgorithm._get_z_distribution_log``
in ``rlkit/core/meta_rl_algorithm.py``): at each checkpoint, for every training task and run,
``KL(q(z | c_explore) || q(z | c_offline))`` averaged over tasks and runs (*within*), divided by the
mean ``KL(q(z | c_offline, task i) || q(z | c_offline, task j))`` over pairs of different tasks
(*between*, same run). A ratio near 0: exploration reads as the same task as the offline data; near 1
or above: as far off as another task. Also rlkit's normalisation ``(within - within_offline) /
(between - within_offline)`` with ``within_offline`` the KL between two offline contexts of one task
(different runs), and the offline-vs-exploration return gap, from this analysis's own rollouts on the
same tasks and from the run's ``episodes.csv`` at the two checkpoints (offline context on training
tasks minus exploration context on test tasks).

Outputs ``zshift.csv`` (one row per checkpoint x context source x task x run, with the posterior's
means ``mu_*`` and standard deviations ``std_*``), ``zshift_claim3.csv`` (one row per checkpoint) and
``zshift.png`` (KL-to-prior histograms per checkpoint; mean return per checkpoint and context source;
the claim-3 ratio and return gap).
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
from smac_bench.harness.protocol import offline_task_ids, protocol_from_dict  # noqa: E402
from smac_bench.harness.restore import restore  # noqa: E402
from smac_bench.harness.results import EPISODES_FILE, read_config  # noqa: E402
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
    base = protocol_from_dict(cfg["protocol"])
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
                mu, std = np.asarray(df.attrs["posterior_mean"]), np.asarray(df.attrs["posterior_std"])
                latents = {**{f"mu_{i}": mu[:, i] for i in range(mu.shape[1])},
                           **{f"std_{i}": std[:, i] for i in range(std.shape[1])}}
                frames.append(df.assign(checkpoint=ckpt, **latents))
    finally:
        pool.close()
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "seed", cfg["seed"])
    out.insert(0, "env", cfg["env"])
    out.insert(0, "algo", cfg["algo"])
    return out


def _latents(rows: pd.DataFrame, suffix: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and standard deviations ``[rows, L]`` from columns ``mu_<i><suffix>`` / ``std_<i><suffix>``."""
    dims = sorted(int(c[3:len(c) - len(suffix)]) for c in rows.columns
                  if c.startswith("mu_") and c.endswith(suffix) and c[3:len(c) - len(suffix)].isdigit())
    return (rows[[f"mu_{i}{suffix}" for i in dims]].to_numpy(float),
            rows[[f"std_{i}{suffix}" for i in dims]].to_numpy(float))


def gaussian_kl(mu1: np.ndarray, std1: np.ndarray, mu2: np.ndarray, std2: np.ndarray) -> np.ndarray:
    """``KL(N(mu1, std1^2) || N(mu2, std2^2))`` of diagonal Gaussians, summed over the last axis (broadcasts)."""
    var1, var2 = std1 ** 2, std2 ** 2
    return (np.log(std2 / std1) + (var1 + (mu1 - mu2) ** 2) / (2 * var2) - 0.5).sum(-1)


def posterior_kls(table: pd.DataFrame) -> dict[str, float]:
    """Within-task, between-task and offline-vs-offline KL of one checkpoint's rows (see the module docstring)."""
    key = ["task_id", "run"]
    latent_cols = [c for c in table.columns if c.startswith(("mu_", "std_"))]
    off = table[table["context_source"] == "offline"]
    exp = table[table["context_source"] == "exploration"]
    pairs = off[key + latent_cols].merge(exp[key + latent_cols], on=key, suffixes=("_off", "_exp"))
    within = float("nan")
    if len(pairs):
        m_off, s_off = _latents(pairs, "_off")
        m_exp, s_exp = _latents(pairs, "_exp")
        within = float(gaussian_kl(m_exp, s_exp, m_off, s_off).mean())
    between, offline_within = [], []
    for _, rows in off.groupby("run"):  # different tasks, same run
        m, sd = _latents(rows)
        kl = gaussian_kl(m[:, None], sd[:, None], m[None], sd[None])
        mask = ~np.eye(len(m), dtype=bool)
        between += kl[mask].tolist()
    for _, rows in off.groupby("task_id"):  # same task, different runs (independent offline contexts)
        m, sd = _latents(rows)
        kl = gaussian_kl(m[:, None], sd[:, None], m[None], sd[None])
        offline_within += kl[~np.eye(len(m), dtype=bool)].tolist()
    between_kl = float(np.mean(between)) if between else float("nan")
    off_within = float(np.mean(offline_within)) if offline_within else float("nan")
    return {"within_kl": within, "between_kl": between_kl, "offline_within_kl": off_within,
            "kl_ratio": within / between_kl if between_kl else float("nan"),
            "kl_normalised": (within - off_within) / (between_kl - off_within)
            if between_kl != off_within else float("nan")}


def _checkpoint_steps(episodes: pd.DataFrame) -> dict[str, int]:
    """``train_step`` of the offline end and the online end in a run's ``episodes.csv`` (those it reached)."""
    out = {}
    offline = episodes[episodes["phase"] == "offline"]
    if len(offline):
        out["offline_end"] = int(offline["train_step"].max())
    online = episodes[episodes["phase"] == "online"]
    if len(online):
        out["online_end"] = int(online["train_step"].max())
    return out


def claim3_table(table: pd.DataFrame, episodes: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per checkpoint: the KLs of :func:`posterior_kls`, returns by context source on the analysed
    training tasks and their gap, and (given the run's ``episodes``) the gap recorded in ``episodes.csv``."""
    steps = _checkpoint_steps(episodes) if episodes is not None and len(episodes) else {}
    rows = []
    for ckpt in [c for c in CHECKPOINTS if c in set(table["checkpoint"])]:
        part = table[table["checkpoint"] == ckpt]
        ret = part.groupby("context_source")["return"].mean()
        row = {"checkpoint": ckpt, **posterior_kls(part),
               "return_offline": float(ret.get("offline", np.nan)),
               "return_exploration": float(ret.get("exploration", np.nan))}
        row["return_gap"] = row["return_offline"] - row["return_exploration"]
        step = steps.get(ckpt)
        at = episodes[episodes["train_step"] == step] if step is not None else None
        if at is not None and len(at):
            off = at[(at["context_source"] == "offline") & (at["split"] == "train")]["return"].mean()
            exp = at[(at["context_source"] == "exploration") & (at["split"] == "test")]["return"].mean()
            row.update(train_step=step, episodes_return_offline_train=float(off),
                       episodes_return_exploration_test=float(exp), episodes_return_gap=float(off - exp))
        rows.append(row)
    first = table.iloc[0]
    out = pd.DataFrame(rows)
    for col in ("seed", "env", "algo"):
        out.insert(0, col, first[col])
    return out


def plot_zshift(table: pd.DataFrame, out: str | Path, claim3: pd.DataFrame | None = None) -> Path:
    """KL histograms (one panel per checkpoint), a return bar chart and (given ``claim3``) the
    within/between KL ratio with the return gap; saved to ``out``."""
    ckpts = [c for c in CHECKPOINTS if c in set(table["checkpoint"])]
    panels = len(ckpts) + 1 + (claim3 is not None)
    fig, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 3.8), squeeze=False)
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
    ax = axes[0][len(ckpts)]
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
    if claim3 is not None:
        _plot_claim3(axes[0][-1], claim3)
    first = table.iloc[0]
    fig.suptitle(f"z-shift: {first['algo']} on {first['env']}, seed {first['seed']}", fontsize=10)
    fig.tight_layout()
    from smac_bench.analysis.plots import _savefig

    _savefig(fig, Path(out))
    return out


def _plot_claim3(ax: plt.Axes, claim3: pd.DataFrame) -> None:
    """Bars: within-task / between-task KL per checkpoint; line (right axis): offline minus exploration return."""
    x = np.arange(len(claim3))
    ax.bar(x, claim3["kl_ratio"], 0.5, color="tab:purple", alpha=0.8, label="within / between KL")
    ax.set_xticks(x, [c.replace("_", " ") for c in claim3["checkpoint"]])
    ax.set_ylabel("KL(q_explore || q_offline) / between-task KL")
    ax.set_title("claim 3: exploration vs offline posterior")
    twin = ax.twinx()
    twin.plot(x, claim3["return_gap"], "o-", color="tab:red", label="return gap (offline - exploration)")
    twin.set_ylabel("return gap")
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8)


def zshift_analysis(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    buffer: MultiTaskBuffer | None = None,
    env_spec: TaskSetup | None = None,
    num_runs: int = 4,
) -> tuple[Path, Path, pd.DataFrame]:
    """Compute the tables; write ``zshift.csv``, ``zshift_claim3.csv``, ``zshift.png`` (default: in the run folder)."""
    table = zshift_table(run_dir, buffer=buffer, env_spec=env_spec, num_runs=num_runs)
    out_dir = Path(out_dir or run_dir)
    csv_path = out_dir / "zshift.csv"
    atomic_write_text(csv_path, table.to_csv(index=False))
    episodes_path = Path(run_dir) / EPISODES_FILE
    episodes = pd.read_csv(episodes_path) if episodes_path.is_file() else None
    claim3 = claim3_table(table, episodes)
    atomic_write_text(out_dir / "zshift_claim3.csv", claim3.to_csv(index=False))
    fig_path = plot_zshift(table, out_dir / "zshift.png", claim3)
    return csv_path, fig_path, table


def zshift_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean KL and return per checkpoint and context source (printed by the CLI)."""
    return (table.groupby(["checkpoint", "context_source"])
            .agg(mean_kl=("posterior_kl", "mean"), mean_return=("return", "mean"), n=("return", "size"))
            .reset_index())
