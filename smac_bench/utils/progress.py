"""Progress as events: library code reports how far a piece of work got; the CLI draws it.

Long-running library calls (dataset builds, downloads, training runs) take a ``progress``
callback instead of drawing bars themselves, so the library never knows about terminals, and
a caller without a display (tests, notebooks, worker processes) passes nothing and pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkEvent:
    """``done`` of ``total`` units of one piece of work (picklable, for worker processes).

    Attributes:
        key: names the piece of work; events with the same key update the same bar,
            e.g. ``"download smac-bench/cheetah-vel/mixed-v0"``.
        done / total: units finished and expected (``total`` ``None`` when unknown).
        unit: what is counted: ``"B"`` (bytes), ``"step"``, ``"task"``.
        status: a short note for the reader (e.g. ``"resuming"``); may be empty.
    """

    key: str
    done: float
    total: float | None
    unit: str = ""
    status: str = ""


ProgressFn = Callable[[WorkEvent], None]


def no_progress(event: WorkEvent) -> None:
    """The default callback: report nothing."""


def or_silent(progress: ProgressFn | None) -> ProgressFn:
    """``progress``, or :func:`no_progress` when the caller gave none."""
    return progress or no_progress


class Counter:
    """Counts units of one piece of work and reports each change as a :class:`WorkEvent`.

    What a tqdm bar was to the library: ``update(n)`` after each chunk, ``reset(total)`` when the
    work starts over (a server ignoring an HTTP range).
    """

    def __init__(self, progress: ProgressFn | None, key: str, total: float | None, unit: str = "",
                 initial: float = 0) -> None:
        self.progress, self.key, self.total, self.unit, self.done = or_silent(progress), key, total, unit, initial
        self._emit()

    def update(self, n: float, status: str = "") -> None:
        self.done += n
        self._emit(status)

    def reset(self, total: float | None = None) -> None:
        self.done, self.total = 0, total if total is not None else self.total
        self._emit()

    def _emit(self, status: str = "") -> None:
        self.progress(WorkEvent(self.key, self.done, self.total, self.unit, status))
