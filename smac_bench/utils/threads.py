"""Torch thread control for small batched networks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block, then restore the old setting.

    Rollouts and evaluation run a ~100-row MLP per env step: too small to gain from threads, and
    on busy shared cores torch's spinning worker threads made one forward pass ~100x slower
    (80 ms vs 0.7 ms measured on 2 loaded cores).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
