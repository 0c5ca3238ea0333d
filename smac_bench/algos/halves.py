"""Run the two halves of an actor-critic update side by side, one CPU core each.

A SMAC update is two backward passes over disjoint parameters: the critic (with the encoder and
decoder) and the actor. They meet twice: the critic loss needs the Bellman target, and the AWAC
weights need ``Q`` at the dataset actions. On a 2-core CPU the update's matrices (512 x 300) are
too small to split well over two threads, so running the halves on two threads, each with one
torch thread, uses the cores better (``benchmarks/train_speed.py --halves`` measures both).

The two halves exchange values through :class:`Handoff` futures; a failure in either half
fails every pending handoff, so the other half never waits forever. Gradients land on disjoint
parameters and each half draws its random numbers in the serial order, so the result is bit-identical
to running the halves one after the other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")


class Handoff(Future):
    """A value one half computes and the other waits for; once failed, later offers are ignored."""

    def put(self, value: object) -> None:
        with contextlib.suppress(InvalidStateError):  # already failed by the other half
            self.set_result(value)

    def fail(self, exc: BaseException) -> None:
        with contextlib.suppress(InvalidStateError):  # already set
            self.set_exception(exc)


class Halves:
    """One helper thread; :meth:`run` runs ``side`` on it while the calling thread runs ``main``."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    def run(self, main: Callable[[], A], side: Callable[[], B], handoffs: Sequence[Handoff]) -> tuple[A, B]:
        """``(main(), side())`` run concurrently; ``handoffs`` are the values the two pass between them."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="smac-bench-half")

        def guarded(fn: Callable[[], A]) -> A:
            try:
                return fn()
            except BaseException as exc:
                for handoff in handoffs:
                    handoff.fail(exc)
                raise

        side_result = self._pool.submit(guarded, side)
        try:
            main_result = guarded(main)
        finally:
            other = side_result.exception()  # always wait: the side half must not outlive this update
        if other is not None:
            raise other
        return main_result, side_result.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def run_update_halves(halves: Halves | None, prepare: Callable[[], None], critic: Callable[[], A],
                      actor: Callable[[], B], handoffs: Sequence[Handoff]) -> tuple[A, B]:
    """``prepare``, then the ``critic`` and ``actor`` halves of one update; returns their results.

    Serially (``halves`` is ``None``) the order is ``prepare, critic, actor``. With ``halves`` the
    critic half runs on the calling thread while ``prepare`` then ``actor`` run on the helper:
    the critic half draws no random numbers, so the draws keep the serial order (``prepare``'s
    first) and the results are bit-identical. ``prepare`` typically offers the Bellman target the
    critic half waits for.
    """
    if halves is None:
        prepare()
        return critic(), actor()

    def prepare_then_actor() -> B:
        prepare()
        return actor()

    return halves.run(critic, prepare_then_actor, handoffs)
