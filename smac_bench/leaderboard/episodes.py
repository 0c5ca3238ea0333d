"""Parse and check a submission's ``episodes.csv``: strict types, completeness, the final evaluation.

Nothing a submitter reports is trusted: the score matrix is rebuilt here from raw episode rows.
The csv module (not pandas' C parser) reads the file so every cell is checked by one rule and
a bad cell gets a message naming its line and column.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from smac_bench.leaderboard.schema import (
    CONTEXT_SOURCES,
    HEADLINE_CONTEXT,
    MAX_COLUMNS,
    MAX_ROWS,
    PHASES,
    REQUIRED_COLUMNS,
    SubmissionError,
)

_INT = re.compile(r"^-?[0-9]{1,12}$")
_FLOAT = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,4})?$")
_BOOL = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0, "false": 0.0, "true": 1.0, "": math.nan}
_MAX_LISTED = 8  # problems of one kind listed before "and N more"
_KEY = ["seed", "phase", "train_step", "context_source", "split", "task_id", "run"]


@dataclass
class FinalEvaluation:
    """The headline evaluation recomputed from raw rows.

    Attributes:
        seeds / task_ids: row and column labels of ``returns``.
        returns: ``[num_seeds, num_tasks]`` mean final-episode return over runs.
        num_runs: runs per (seed, task).
        phase / train_step: where the final evaluation happened (same for every seed).
        success_rate: mean success over final episodes, ``None`` when the family has none.
        curve: mean headline return per ``(phase, train_step)`` over seeds, for plots.
    """

    seeds: list[int]
    task_ids: list[int]
    returns: np.ndarray
    num_runs: int
    phase: str
    train_step: int
    success_rate: float | None
    curve: list[tuple[str, int, float]]


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" (and {len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")


def parse_episodes(data: bytes) -> pd.DataFrame:
    """Rows of ``episodes.csv`` as a typed DataFrame; :class:`SubmissionError` on any bad cell."""
    try:
        text = data.decode("utf-8-sig")  # a BOM (Excel) is harmless
    except UnicodeDecodeError as exc:
        raise SubmissionError([f"episodes.csv is not UTF-8 (byte {exc.start})"]) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header:
            raise SubmissionError(["episodes.csv is empty"])
        header = [h.strip() for h in header]
        if len(header) > MAX_COLUMNS or len(set(header)) != len(header):
            raise SubmissionError([f"episodes.csv header must have at most {MAX_COLUMNS} distinct columns"])
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise SubmissionError([f"episodes.csv lacks column(s) {', '.join(missing)}"])
        cols = {name: header.index(name) for name in [*REQUIRED_COLUMNS, "split"] if name in header}
        records: list[tuple[Any, ...]] = []
        problems: list[str] = []
        for line, row in enumerate(reader, start=2):
            if len(records) >= MAX_ROWS:
                raise SubmissionError([f"episodes.csv has more than {MAX_ROWS} rows"])
            if len(row) != len(header):
                problems.append(f"line {line} has {len(row)} fields, header has {len(header)}")
            else:
                rec = _convert(row, cols, line, problems)
                if rec is not None:
                    records.append(rec)
            if len(problems) > _MAX_LISTED:
                break
    except csv.Error as exc:
        raise SubmissionError([f"episodes.csv is not valid CSV: {exc}"]) from None
    if problems:
        raise SubmissionError([f"episodes.csv: {_listed(problems)}"])
    if not records:
        raise SubmissionError(["episodes.csv has no episode rows"])
    names = ["protocol", "algo", "env", "seed", "phase", "train_step", "task_id", "run",
             "context_source", "return", "success", "split"]
    return pd.DataFrame.from_records(records, columns=names)


def _convert(row: list[str], cols: dict[str, int], line: int, problems: list[str]) -> tuple[Any, ...] | None:
    """One typed record, or ``None`` after appending the reason to ``problems``."""
    cell = {name: row[i].strip() for name, i in cols.items()}

    def bad(column: str, want: str) -> None:
        value = cell[column] if len(cell[column]) <= 40 else cell[column][:40] + "..."
        problems.append(f"line {line} column {column}: {value!r} is not {want}")

    ints = {}
    for name in ("seed", "train_step", "task_id", "run"):
        if not _INT.match(cell[name]) or int(cell[name]) < 0:
            bad(name, "a non-negative integer")
            return None
        ints[name] = int(cell[name])
    ret = cell["return"]
    value = float(ret) if _FLOAT.match(ret) else math.nan
    if not math.isfinite(value):
        bad("return", "a finite number")
        return None
    success = _BOOL.get(cell["success"].lower())
    if success is None:
        bad("success", "0, 1, true, false or empty")
        return None
    if cell["phase"] not in PHASES:
        bad("phase", " or ".join(PHASES))
        return None
    if cell["context_source"] not in CONTEXT_SOURCES:
        bad("context_source", " or ".join(CONTEXT_SOURCES))
        return None
    split = cell.get("split", "")
    if split not in ("", "train", "test"):
        bad("split", "train, test or empty")
        return None
    for name in ("protocol", "algo", "env"):
        if len(cell[name]) > 64:
            bad(name, "a short label")
            return None
    return (cell["protocol"], cell["algo"], cell["env"], ints["seed"], cell["phase"], ints["train_step"],
            ints["task_id"], ints["run"], cell["context_source"], value, success, split)


def check_episodes(
    df: pd.DataFrame,
    *,
    protocol: str,
    algo: str,
    env: str,
    seeds: Sequence[int],
    train_ids: Sequence[int],
    test_ids: Sequence[int],
    num_runs: int | None,
) -> FinalEvaluation:
    """Check rows against the metadata and the task split; rebuild the final evaluation.

    ``num_runs`` is the protocol's runs per task (``None``: infer it, but every seed must agree).
    """
    problems: list[str] = []
    for column, want in (("protocol", protocol), ("algo", algo), ("env", env)):
        wrong = sorted(set(df[column]) - {want})
        if wrong:
            problems.append(f"episodes.csv column {column} has {_listed([repr(w) for w in wrong])}, "
                            f"submission.json says {want!r}")
    have_seeds, want_seeds = set(df["seed"]), set(seeds)
    if have_seeds != want_seeds:
        problems.append(f"episodes.csv seeds {sorted(have_seeds)} differ from submission.json seeds "
                        f"{sorted(want_seeds)}")
    train, test = set(train_ids), set(test_ids)
    unknown = sorted(set(df["task_id"]) - train - test)
    if unknown:
        problems.append(f"unknown task ids {_listed([str(t) for t in unknown])} for {env}")
    # Rows without a split label: exploration context is the held-out evaluation, offline
    # context the train-task diagnostic (protocol v1).
    df = df.copy()
    unlabelled = df["split"] == ""
    df.loc[unlabelled, "split"] = np.where(df.loc[unlabelled, "context_source"] == HEADLINE_CONTEXT, "test", "train")
    leaked = sorted(set(df.loc[(df["split"] == "test") & df["task_id"].isin(train), "task_id"]))
    if leaked:
        problems.append(f"training task ids {_listed([str(t) for t in leaked])} appear in the held-out evaluation; "
                        f"score only the test split {min(test)}-{max(test)}")
    mislabelled = sorted(set(df.loc[(df["split"] == "train") & df["task_id"].isin(test), "task_id"]))
    if mislabelled:
        problems.append(f"held-out task ids {_listed([str(t) for t in mislabelled])} are labelled split=train")
    dup = df[df.duplicated(_KEY, keep="first")]
    if len(dup):
        items = [f"seed {r.seed} {r.phase} step {r.train_step} task {r.task_id} run {r.run}" for r in dup.itertuples()]
        problems.append(f"duplicated episodes: {_listed(items)}")
    if problems:
        raise SubmissionError(problems)
    return _final(df, test_ids, num_runs)


def _final(df: pd.DataFrame, test_ids: Sequence[int], num_runs: int | None) -> FinalEvaluation:
    head = df[(df["context_source"] == HEADLINE_CONTEXT) & (df["split"] == "test")].copy()
    seeds = sorted(set(df["seed"]))
    if head.empty:
        raise SubmissionError(["episodes.csv has no held-out exploration-context episodes (the headline score)"])
    head["phase_index"] = head["phase"].map(PHASES.index)
    points = {}
    for seed in seeds:
        rows = head[head["seed"] == seed]
        if rows.empty:
            raise SubmissionError([f"seed {seed} has no held-out exploration-context episodes"])
        points[seed] = max(zip(rows["phase_index"], rows["train_step"], strict=True))
    if len(set(points.values())) != 1:
        shown = [f"seed {s}: {PHASES[p]} step {t}" for s, (p, t) in points.items()]
        raise SubmissionError([f"seeds end at different evaluation points ({_listed(shown)}); "
                               "every seed must be evaluated after the same training budget"])
    phase_index, step = next(iter(points.values()))
    final = head[(head["phase_index"] == phase_index) & (head["train_step"] == step)]
    runs = num_runs if num_runs is not None else int(final["run"].max()) + 1
    have = set(zip(final["seed"], final["task_id"], final["run"], strict=True))
    missing = [f"seed {s} task {t} run {r}"
               for s in seeds for t in test_ids for r in range(runs) if (s, t, r) not in have]
    extra = sorted(f"seed {s} task {t} run {r}" for s, t, r in have if r >= runs)
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing episodes in the final evaluation ({PHASES[phase_index]} step {step}): "
                            f"{_listed(missing)}")
        if extra:
            problems.append(f"runs beyond the protocol's {runs} per task: {_listed(extra)}")
        raise SubmissionError(problems)
    per_task = final.groupby(["seed", "task_id"])["return"].mean().unstack("task_id")
    per_task = per_task.reindex(index=seeds, columns=list(test_ids))
    success = final["success"].dropna()
    curve_df = head.groupby(["phase_index", "train_step"])["return"].mean().sort_index()
    curve = [(PHASES[int(p)], int(t), float(v)) for (p, t), v in curve_df.items()]
    return FinalEvaluation(
        seeds=seeds,
        task_ids=list(test_ids),
        returns=per_task.to_numpy(dtype=np.float64),
        num_runs=runs,
        phase=PHASES[phase_index],
        train_step=int(step),
        success_rate=float(success.mean()) if len(success) else None,
        curve=curve,
    )
