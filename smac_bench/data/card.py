"""Dataset cards: a Markdown page and a return histogram per dataset, made from the installed data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from smac_bench.data import minari_io
from smac_bench.data.manifest import manifest_entry
from smac_bench.envs.family import id_span
from smac_bench.paths import datasets_dir
from smac_bench.utils.io import atomic_write_text


def card_stem(dataset_id: str) -> str:
    """``smac-bench/cheetah-vel/mixed-v0`` -> ``cheetah-vel-mixed-v0``."""
    return "-".join(dataset_id.split("/")[1:])


def _save(fig: Any, path: Path) -> None:
    """Write a figure atomically, without the matplotlib version in the PNG (same data, same bytes)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, metadata={"Software": None})
    plt.close(fig)
    tmp.replace(path)


def _histogram(rows: list[dict[str, Any]], path: Path, title: str, names: list[str] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    policies = sorted({r["policy"] for r in rows})
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    rets = [np.array([r["return"] for r in rows if r["policy"] == p]) for p in policies]
    labels = [(names[p] if names and p < len(names) else f"snapshot {p}") if p >= 0 else "random" for p in policies]
    ax.hist(rets, bins=40, stacked=True, label=labels)
    ax.set_xlabel("episode return (training tasks)")
    ax.set_ylabel("episodes")
    ax.set_title(title)
    ax.legend(fontsize=7)
    _save(fig, path)


def write_card(dataset_id: str, out_dir: str | Path | None = None, extra: dict[str, Any] | None = None,
               notes: list[str] | None = None) -> Path:
    """Write ``<out_dir>/<stem>.md`` and ``<stem>-returns.png``; returns the Markdown path.

    ``extra`` adds measured figures (build times, from-scratch cost) to the card, ``notes``
    caveats a user should read before comparing scores.
    """
    out = Path(out_dir or datasets_dir())
    out.mkdir(parents=True, exist_ok=True)
    meta = minari_io.read_metadata(dataset_id)
    sb = meta.get("smac_bench", {})
    rows = minari_io.episode_table(dataset_id)
    stem = card_stem(dataset_id)
    png = out / f"{stem}-returns.png"
    beh = sb.get("behaviour_policy", {})
    _histogram(rows, png, dataset_id, beh.get("policies"))
    entry = manifest_entry(dataset_id) or {}
    tasks = sorted({r["task_id"] for r in rows})
    per_task = {k: [r for r in rows if r["task_id"] == k] for k in tasks}
    lines = [
        f"# {dataset_id}",
        "",
        meta.get("description", ""),
        "",
        "## At a glance",
        "",
        "| | |",
        "|---|---|",
        f"| task family | `{sb.get('family')}` (env `{json.loads(meta['env_spec'])['id']}`) |",
        f"| split | {sb.get('split')} tasks only: {len(tasks)} tasks ({id_span(tasks)}) |",
        f"| episodes / transitions | {meta['total_episodes']} / {meta['total_steps']} "
        f"({sb.get('transitions_per_task')} per task) |",
        f"| size on disk | {meta.get('dataset_size')} MB (HDF5, uncompressed) |",
        f"| archive | `{entry.get('archive', '-')}`, {entry.get('archive_size', 0) / 1e6:.1f} MB, "
        f"sha256 `{entry.get('sha256', '-')}` |",
        f"| recipe / seed | `{sb.get('recipe')}` / {sb.get('seed')} |",
        f"| reference scores (test tasks) | min {meta['ref_min_score']:.1f} (uniform random), "
        f"max {meta['ref_max_score']:.1f} ({_ref_max_kind(beh)})"
        + (f"; standing still {sb['standing_score']:.1f} (zero actions)" if "standing_score" in sb else "") + " |",
        f"| requirements | {', '.join(f'`{r}`' for r in meta.get('requirements', []))} |",
        "",
        "## How it was built",
        "",
        *(_how_snapshots(beh) if beh.get("kind") == "snapshots" else _how_scripted(beh)),
        "",
        "```",
        f"smac-bench datasets build {sb.get('family')}                 # deterministic: same seed, same bytes",
        *([f"smac-bench datasets build {sb.get('family')} --from-scratch  # retrain the snapshots first"]
          if beh.get("kind") == "snapshots" and "retrain" not in beh else []),
        *([f"# retrain the snapshots: {beh['retrain']}"] if "retrain" in beh else []),
        "```",
        "",
    ]
    if beh.get("kind") == "snapshots":
        lines += _snapshot_table(beh, rows)
    if "learning_curve" in beh:
        curve_png = out / f"{stem}-expert-curve.png"
        _expert_curve(beh["learning_curve"], sb, meta, curve_png)
        lines += ["## The expert's learning curve", "", f"![expert curve]({curve_png.name})", ""]
    if extra:
        lines += ["## Measured cost", ""] + [f"- {k}: {v}" for k, v in extra.items()] + [""]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    frames = out / f"{stem}-frames.png"  # made by smac_bench.envs.sawyer.clip.write_frame_strip
    if frames.exists():
        lines += ["## Example frames", "", f"![frames]({frames.name})", "",
                  f"Watch any training episode: `smac-bench render {sb.get('family')} --task ID --out clip.gif`.", ""]
    rets = np.array([r["return"] for r in rows])
    lines += [
        "## Returns",
        "",
        f"![returns]({png.name})",
        "",
        f"All episodes: mean {rets.mean():.1f}, sd {rets.std():.1f}, min {rets.min():.1f}, max {rets.max():.1f}; "
        f"episode length mean {np.mean([r['length'] for r in rows]):.1f}.",
        "",
        "<details><summary>Per task: episodes, mean / min / max return</summary>",
        "",
        "| task | params | episodes | mean | min | max |",
        "|---|---|---|---|---|---|",
    ]
    from smac_bench.envs import task_family

    fam = task_family(sb.get("family"))
    for k, eps in per_task.items():
        r = np.array([e["return"] for e in eps])
        params = ", ".join(_param(n, v) for n, v in fam.task(k).params.items() if _param(n, v))
        lines.append(f"| {k} | {params} | {len(eps)} | {r.mean():.1f} | {r.min():.1f} | {r.max():.1f} |")
    lines += ["", "</details>", ""]
    md = out / f"{stem}.md"
    atomic_write_text(md, "\n".join(lines))
    return md


def _ref_max_kind(beh: dict[str, Any]) -> str:
    if beh.get("kind") == "snapshots":
        return "best snapshot, task-aware, mean actions"
    return "noise-free scripted controller"


def _snapshot_table(beh: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """One row per behaviour snapshot: its training point, test score and returns in the dataset."""
    timed = "updates" in beh
    lines = ["| snapshot | SAC env steps |" + (" updates | wall time |" if timed else "")
             + " test return (mean action) | dataset return (mean +- sd) |",
             "|---|---|" + ("---|---|" if timed else "") + "---|---|"]
    for i, (f, steps, ret) in enumerate(zip(beh["files"], beh["env_steps"], beh["test_returns"], strict=True)):
        r = np.array([x["return"] for x in rows if x["policy"] == i])
        stat = f"{r.mean():.1f} +- {r.std():.1f} ({len(r)} eps)" if len(r) else "-"
        when = f" {beh['updates'][i]} | {beh['wall_s'][i] / 3600:.1f} h |" if timed else ""
        lines.append(f"| `{f}` | {steps} |{when} {ret:.1f} | {stat} |")
    return lines + [""]


def _expert_curve(curve: list[dict[str, float]], sb: dict[str, Any], meta: dict[str, Any], path: Path) -> None:
    """Test return against env steps of the expert run, with the random, standing and expert lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    steps = [row["env_steps"] for row in curve]
    ax.plot(steps, [row["mean_return"] for row in curve], marker=".", label="test mean (mean action)")
    ax.plot(steps, [row["min_return"] for row in curve], ls=":", label="worst test task")
    refs = (("random", meta["ref_min_score"], "--"), ("standing still", sb.get("standing_score"), "-."),
            ("ref_max_score", meta["ref_max_score"], "-"))
    for name, value, style in refs:
        if value is not None:
            ax.axhline(value, color="grey", ls=style, lw=0.8)
            ax.annotate(name, (steps[0], value), fontsize=7, va="bottom")
    ax.set_xlabel("expert env steps")
    ax.set_ylabel("return (test tasks)")
    ax.legend(fontsize=7)
    _save(fig, path)


def _how_snapshots(beh: dict[str, Any]) -> list[str]:
    if "retrain" in beh:
        return [
            f"Behaviour: {beh.get('algorithm')}. Snapshots of its actor along one long run (curve below) "
            "are the behaviour policies: the untrained actor, then test returns spread evenly up to the "
            "expert. Every task's transitions walk through them in order, actions sampled from the "
            "stochastic policy. Each episode stores its task in the reset options (`options/task_id`) and "
            "every step in `infos/task_id`; rewards are the task's own.",
        ]
    return [
        "A task-aware SAC (`smac_bench/algos/sac.py`: 2x256 MLPs, the task's parameters appended to the "
        "observation) was trained from scratch on all training tasks at once; snapshots of its actor "
        "along the learning history are the behaviour policies. Every task's transitions walk through "
        "the snapshots in order (first the untrained actor, last the final one), actions sampled from "
        "the stochastic policy, so the data mixes poor and good behaviour like the replay buffer of a "
        "learning agent (the SMAC paper's setting). Each episode stores its task in the reset options "
        "(`options/task_id`) and every step in `infos/task_id`; rewards are the task's own.",
    ]


def _how_scripted(beh: dict[str, Any]) -> list[str]:
    what = beh.get("algorithm", "scripted controllers")
    return [
        f"{what[:1].upper()}{what[1:]}. Every task's episodes use these behaviours in order: "
        f"{'; '.join(beh.get('policies', []))}. Each "
        "episode stores its task in the reset options (`options/task_id`) and every step in "
        "`infos/task_id`; rewards are the task's own.",
    ]


def _param(name: str, value: Any) -> str:
    """Scalar task parameters for the per-task table (nested ones, e.g. Sawyer scenes, are left out)."""
    if isinstance(value, float):
        return f"{name}={value:.3f}"
    if isinstance(value, (int, str)):
        return f"{name}={value}"
    return ""
