"""Result files of a run folder: schemas, atomic CSV writes, loading many runs for analysis.

A run folder (``RUN_DIR = OUT/<algo>-<env>-seed<N>``) holds::

    config.json         resolved run config, agent config, seed, package versions, git commit
    episodes.csv        one row per evaluated final episode (EPISODE_COLUMNS)
    metrics.csv         training metrics, long format (METRIC_COLUMNS)
    checkpoints/latest  agent.save() + state.json (resume point)
    checkpoints/offline_end, checkpoints/online_end   kept for the z-shift analysis
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from smac_bench.errors import UserError
from smac_bench.utils.io import atomic_write_text

#: episodes.csv: column -> pandas dtype. ``success`` is 1.0/0.0, NaN when the env reports none;
#: ``train_step`` counts offline updates, then continues with offline_updates + online env steps;
#: ``phase_step`` is updates (offline) or env steps (online) within the phase.
EPISODE_COLUMNS: dict[str, str] = {
    "protocol": "string",
    "algo": "string",
    "env": "string",
    "seed": "int64",
    "phase": "string",
    "train_step": "int64",
    "phase_step": "int64",
    "task_id": "int64",
    "run": "int64",
    "split": "string",
    "context_source": "string",
    "return": "float64",
    "success": "float64",
    "length": "int64",
    "posterior_kl": "float64",
    "episode_seed": "int64",
}

#: metrics.csv (tidy: one row per metric value reported by the agent for a training chunk).
METRIC_COLUMNS: dict[str, str] = {
    "algo": "string",
    "env": "string",
    "seed": "int64",
    "phase": "string",
    "train_step": "int64",
    "phase_step": "int64",
    "metric": "string",
    "value": "float64",
    "wall_s": "float64",
}

EPISODES_FILE, METRICS_FILE, CONFIG_FILE = "episodes.csv", "metrics.csv", "config.json"


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in columns.items()})


def conform(df: pd.DataFrame, columns: dict[str, str], what: str = "table") -> pd.DataFrame:
    """Columns in schema order with schema dtypes; :class:`UserError` naming missing columns."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UserError(f"{what} lacks column(s) {', '.join(missing)}: not a smac-bench result file")
    return df[list(columns)].astype(columns)


def write_csv(path: str | Path, df: pd.DataFrame, columns: dict[str, str]) -> None:
    """Write ``df`` (conformed to ``columns``) atomically."""
    buf = io.StringIO()
    conform(df, columns, str(path)).to_csv(buf, index=False)
    atomic_write_text(path, buf.getvalue())


def read_csv(path: str | Path, columns: dict[str, str]) -> pd.DataFrame:
    """Read a result CSV with its schema's dtypes (strings stay strings, NaN stays NaN)."""
    path = Path(path)
    if not path.is_file():
        return empty_frame(columns)
    try:
        df = pd.read_csv(path, dtype={c: d for c, d in columns.items() if d == "string"}, keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not a readable CSV ({exc.__class__.__name__}); delete or restore it") from None
    if df.empty and not len(df.columns):
        return empty_frame(columns)
    return conform(df, columns, str(path))


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """``config.json`` of a run folder (``{}`` if absent)."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        raise UserError(f"{path} is not valid JSON; restore it or remove the run folder") from None


def find_run_dirs(paths: Iterable[str | Path]) -> list[Path]:
    """Run folders among ``paths``: a folder with ``episodes.csv``, or the run folders directly inside one.

    So ``smac-bench report runs/*`` and ``smac-bench report runs`` both work.
    """
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise UserError(f"{p} does not exist: pass run folders written by `smac-bench evaluate`")
        if (p / EPISODES_FILE).is_file():
            found.append(p)
        elif p.is_dir():
            found.extend(sorted(d for d in p.iterdir() if (d / EPISODES_FILE).is_file()))
    return list(dict.fromkeys(found))


def load_episodes(paths: Iterable[str | Path]) -> pd.DataFrame:
    """All episodes of the given run folders as one table, checked for consistency.

    Raises :class:`UserError` when no folder has results or when protocol labels are mixed
    (scores from different protocols are not comparable).
    """
    paths = list(paths)
    dirs = find_run_dirs(paths)
    frames = [read_csv(d / EPISODES_FILE, EPISODE_COLUMNS).assign(run_dir=str(d)) for d in dirs]
    frames = [f for f in frames if len(f)]
    if not frames:
        shown = ", ".join(map(str, paths[:3])) + (" ..." if len(paths) > 3 else "")
        raise UserError(f"no results found in {shown or 'the given folders'}: "
                        "run `smac-bench evaluate` first or point at its --out folder")
    df = pd.concat(frames, ignore_index=True)
    labels = sorted(df["protocol"].dropna().unique())
    if len(labels) > 1:
        raise UserError(f"results mix protocol versions {', '.join(labels)}: compare runs of one protocol "
                        "(one --preset) at a time")
    return df
