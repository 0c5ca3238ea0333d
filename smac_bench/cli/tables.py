"""Result tables that fit a narrow terminal (80 columns) without splitting a number or a word.

Rich wraps a cell at spaces and, when even the longest word does not fit, folds it mid-word
("cheet / ah-ve / l"). So the tables are made narrow enough instead: a column whose value is the
same in every row moves into the title, a confidence interval goes on a second line under its
point estimate, and a report with several domains becomes one table per domain.
"""

from __future__ import annotations

import re

import pandas as pd
from rich import box
from rich.table import Table

# Columns shown in the title (``name value``) when every row holds the same value.
TITLE_COLUMNS = ("env", "algo", "context", "seeds", "tasks")
_CI = re.compile(r"^(\S+) (\[\S+, \S+\])$")

CONTEXT_NOTE = ("exploration: held-out test tasks, context from the agent's own exploration episodes; "
                "offline: training tasks, context from the offline dataset; bc-task is told the task instead")


def stack_ci(cell: str) -> str:
    """``"-52.3 [-60.1, -45.0]"`` -> ``"-52.3\\n[-60.1, -45.0]"``: the interval under its estimate."""
    match = _CI.match(cell)
    return f"{match.group(1)}\n{match.group(2)}" if match else cell


def title_parts(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """``(parts for the title, columns left in the table)``: constant columns go to the title."""
    parts, keep = [], []
    for col in df.columns:
        values = df[col].astype(str).unique()
        if col in TITLE_COLUMNS and len(values) == 1:
            parts.append(f"{col} {values[0]}")
        else:
            keep.append(str(col))
    return parts, keep


def fitted_table(df: pd.DataFrame, title: str) -> Table:
    """A rich table of ``df`` (strings) with constant columns in the title and stacked CIs."""
    parts, keep = title_parts(df)
    table = Table(title=" — ".join([title, ", ".join(parts)]) if parts else title, box=box.SIMPLE_HEAD,
                  padding=(0, 1), title_justify="left")
    for col in keep:
        numeric = col not in ("env", "algo", "point", "context")
        table.add_column(col, justify="right" if numeric else "left", overflow="fold")
    for row in df[keep].itertuples(index=False):
        table.add_row(*[stack_ci(str(v)) for v in row])
    return table


def fitted_tables(df: pd.DataFrame, title: str, split_by: tuple[str, ...] = ()) -> list[Table]:
    """:func:`fitted_table`, one per combination of the ``split_by`` columns that vary
    (e.g. one per domain and context: a report of several algorithms is too wide otherwise)."""
    keys = [c for c in split_by if c in df and df[c].nunique() > 1]
    if not keys:
        return [fitted_table(df, title)]
    return [fitted_table(group.drop(columns=keys).reset_index(drop=True),
                         f"{title} — {', '.join(f'{k} {v}' for k, v in zip(keys, values, strict=True))}")
            for values, group in df.groupby(keys, sort=False)]
