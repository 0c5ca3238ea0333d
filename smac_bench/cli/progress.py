"""Draw the library's progress events: live rich bars on a terminal, plain lines in a log.

The library reports :class:`~smac_bench.utils.progress.WorkEvent` s (dataset builds, downloads)
and :class:`~smac_bench.harness.run.ProgressEvent` s (training runs) through a callback; this
module is that callback. Redirected to a file, hundreds of carriage-return updates would bury the
log, so off a terminal it prints one line when a piece of work starts, changes phase, passes
another tenth of its total, has been quiet for :data:`QUIET_S` seconds, or finishes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from smac_bench.utils.progress import WorkEvent

if TYPE_CHECKING:  # the harness (torch) is imported only by commands that train
    from smac_bench.harness.run import ProgressEvent

QUIET_S = 30.0  # longest gap between two plain lines of one piece of work
STEPS = 10  # plain lines per piece of work, besides phase changes


@dataclass(frozen=True)
class Update:
    """One event, in the terms both displays draw: which bar, its label, how far, a note."""

    key: str
    label: str
    phase: str
    done: float
    total: float | None
    note: str


def as_update(event: ProgressEvent | WorkEvent) -> Update:
    """A run's or a piece of work's event as an :class:`Update`."""
    if isinstance(event, WorkEvent):
        note = "  ".join(part for part in (_amount(event), event.status) if part)
        return Update(event.key, event.key, event.status, event.done, event.total, note)
    score = "-" if event.score is None else f"{event.score:.1f}"
    return Update(f"seed {event.seed}", f"seed {event.seed} {event.phase:<7}", event.phase, event.done, event.total,
                  f"{event.status}  score {score}".strip())


def _amount(event: WorkEvent) -> str:
    if event.unit == "B":
        total = f"/{event.total / 1e6:.1f}" if event.total else ""
        return f"{event.done / 1e6:.1f}{total} MB"
    total = f"/{event.total:.0f}" if event.total else ""
    return f"{event.done:.0f}{total} {event.unit}".strip()


class LiveBars:
    """Rich progress bars, one per key (a terminal)."""

    def __init__(self, console: Console) -> None:
        self.bars = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
                             TextColumn("{task.fields[note]}"), TimeElapsedColumn(), TextColumn("ETA"),
                             TimeRemainingColumn(), console=console)
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> LiveBars:
        self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def __call__(self, event: ProgressEvent | WorkEvent) -> None:
        u = as_update(event)
        if u.key not in self.tasks:
            self.tasks[u.key] = self.bars.add_task(u.label, total=u.total, note=u.note)
        self.bars.update(self.tasks[u.key], description=u.label, completed=u.done, total=u.total, note=u.note)


class PlainLines:
    """A line per phase change, per tenth of the total, or per :data:`QUIET_S` seconds (a log)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.last: dict[str, tuple[str, int, float]] = {}  # key -> (phase, tenths done, time printed)

    def __enter__(self) -> PlainLines:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __call__(self, event: ProgressEvent | WorkEvent) -> None:
        u = as_update(event)
        tenths = int(STEPS * u.done / u.total) if u.total else 0
        now = time.monotonic()
        before = self.last.get(u.key)
        if before is not None and before[:2] == (u.phase, tenths) and now - before[2] < QUIET_S:
            return
        self.last[u.key] = (u.phase, tenths, now)
        share = f" {100 * u.done / u.total:3.0f}%" if u.total else ""
        self.console.print(f"{u.label}{share}  {u.note}".rstrip(), highlight=False, soft_wrap=True,
                           markup=False)


def progress_display(console: Console) -> LiveBars | PlainLines:
    """Live bars when ``console`` is a terminal, plain lines otherwise (use it as a context manager)."""
    return LiveBars(console) if console.is_terminal else PlainLines(console)
