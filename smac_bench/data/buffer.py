"""A multi-task transition buffer held in contiguous torch tensors.

Storage is padded per task: every field has shape ``[num_tasks, width, ...]`` (``width`` = ``capacity``,
or less while a growing buffer fills) and ``sizes[k]`` transitions of slot ``k`` are valid. This makes
the two samples meta-RL needs — a transition batch per task and a context batch per task — single
vectorised gathers over all tasks at once, and lets the online phase append to any task without re-sorting.
No learning code lives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

FIELDS = ("obs", "actions", "rewards", "next_obs", "terminals")
CONTEXT_FIELDS = ("obs", "actions", "rewards")
"""A context transition is ``(s, a, r)``: what tells tasks apart."""


@dataclass(frozen=True)
class Batch:
    """Transitions sampled for ``T`` tasks: ``obs [T, B, obs_dim]``, ``rewards [T, B, 1]`` ..."""

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    terminals: torch.Tensor
    episode_returns: torch.Tensor | None = None
    """``[T, B, 1]`` return of the episode each transition belongs to, where every source buffer keeps one
    (:meth:`MultiTaskBuffer.keep_episode_returns`); else ``None``."""

    def flatten(self) -> Batch:
        """The same transitions with tasks and samples merged: fields ``[T * B, dim]``."""
        values = [getattr(self, name) for name in FIELDS] + [self.episode_returns]
        return Batch(*(None if x is None else x.reshape(-1, x.shape[-1]) for x in values))


class MultiTaskBuffer:
    """Per-task ring buffers in one set of tensors.

    Args:
        task_ids: the task ids this buffer holds (e.g. a family's training ids).
        capacity: transitions kept per task; older ones are overwritten when full.
        obs_dim / act_dim: sizes of an observation and an action.
        device: where the tensors live (sampling happens there too).
        with_episode_returns: keep a per-row episode return, given to :meth:`add` with each row (online data
            whose returns are known when it is stored); offline data computes them with :meth:`keep_episode_returns`.
        grow: allocate storage as rows arrive (doubling, up to ``capacity``) instead of all at once. For
            buffers filled a little at a time over many tasks: SMAC's online buffers on 1,200 sawyer-manip
            tasks at capacity 10,000 preallocated 3.4 GB each and received 12,800 rows in all.
    """

    def __init__(
        self,
        task_ids: Sequence[int],
        capacity: int,
        obs_dim: int,
        act_dim: int,
        device: str | torch.device = "cpu",
        with_episode_returns: bool = False,
        grow: bool = False,
    ) -> None:
        self.task_ids = [int(t) for t in task_ids]
        if len(set(self.task_ids)) != len(self.task_ids):
            raise ValueError("task_ids must be unique")
        self.capacity, self.obs_dim, self.act_dim = int(capacity), int(obs_dim), int(act_dim)
        self.device = torch.device(device)
        self.grow = bool(grow)
        k, c = len(self.task_ids), min(self.capacity, 1) if grow else self.capacity
        zeros = lambda *shape: torch.zeros(*shape, dtype=torch.float32, device=self.device)  # noqa: E731
        self.obs = zeros(k, c, obs_dim)
        self.actions = zeros(k, c, act_dim)
        self.rewards = zeros(k, c, 1)
        self.next_obs = zeros(k, c, obs_dim)
        self.terminals = zeros(k, c, 1)
        self.sizes = torch.zeros(k, dtype=torch.long, device=self.device)
        self.episode_returns: torch.Tensor | None = zeros(k, c, 1) if with_episode_returns else None
        """``[K, width, 1]`` per-row episode returns (``with_episode_returns``, or once :meth:`keep_episode_returns`
        ran); else ``None``."""
        self._next = np.zeros(k, dtype=np.int64)  # ring-buffer write position per slot
        self._slot = {t: i for i, t in enumerate(self.task_ids)}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminals: np.ndarray,
        task_ids: np.ndarray,
        capacity: int | None = None,
        device: str | torch.device = "cpu",
    ) -> MultiTaskBuffer:
        """Build a buffer from flat transition arrays (one row per transition, any task order).

        Rows of each task keep their original order. ``capacity`` defaults to the largest
        per-task count (no padding waste when every task has the same amount of data).
        """
        task_ids = np.asarray(task_ids, dtype=np.int64)
        order = np.argsort(task_ids, kind="stable")
        tasks, counts = np.unique(task_ids, return_counts=True)
        cap = int(capacity or counts.max())
        buf = cls(tasks.tolist(), cap, obs.shape[-1], actions.shape[-1], device)
        # Position of every sorted row inside its task's block.
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        within = np.arange(len(order)) - starts
        keep = within < cap
        slot_of_row = np.repeat(np.arange(len(tasks)), counts)[keep]
        pos_of_row = within[keep]
        rows = order[keep]
        # Datasets arrive grouped by task with equal counts: then the layout is a plain reshape,
        # which skips the gather and scatter (half of ant-dir's load time).
        grouped = bool((counts == cap).all() and (np.diff(task_ids) >= 0).all())
        for name, src in zip(FIELDS, (obs, actions, rewards, next_obs, terminals), strict=True):
            dst = getattr(buf, name)
            if grouped:
                dst.copy_(torch.from_numpy(np.asarray(src, dtype=np.float32)).reshape(dst.shape))
                continue
            values = torch.as_tensor(np.asarray(src, dtype=np.float32)[rows]).reshape(len(rows), -1)
            dst[torch.as_tensor(slot_of_row), torch.as_tensor(pos_of_row)] = values.to(buf.device)
        filled = np.minimum(counts, cap)
        buf.sizes.copy_(torch.as_tensor(filled))
        buf._next[:] = filled % cap
        return buf

    def add(
        self,
        task_id: int,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminals: np.ndarray,
        episode_returns: np.ndarray | None = None,
    ) -> None:
        """Append ``n`` transitions of one task (arrays with a leading dimension ``n``); ``episode_returns``
        (each row's episode return) exactly when the buffer keeps them."""
        if (episode_returns is None) != (self.episode_returns is None):
            raise ValueError("episode_returns must be given exactly when the buffer keeps them "
                             "(MultiTaskBuffer(..., with_episode_returns=True))")
        slot = self.slot(task_id)
        values = [torch.as_tensor(np.asarray(v, dtype=np.float32), device=self.device) for v in
                  (obs, actions, rewards, next_obs, terminals, episode_returns) if v is not None]
        n = values[0].shape[0]
        self._reserve(int(self.sizes[slot]) + n)
        pos = (self._next[slot] + np.arange(n)) % self.capacity
        index = torch.as_tensor(pos, device=self.device)
        for name, v in zip(self._stored_fields(), values, strict=True):
            getattr(self, name)[slot, index] = v.reshape(n, -1)
        self._next[slot] = (self._next[slot] + n) % self.capacity
        self.sizes[slot] = min(int(self.sizes[slot]) + n, self.capacity)

    @property
    def width(self) -> int:
        """Rows allocated per task: ``capacity``, or fewer while a :attr:`grow` buffer fills."""
        return int(self.obs.shape[1])

    def _reserve(self, rows: int) -> None:
        """Allocate at least ``min(rows, capacity)`` rows per task (doubling), keeping what is stored."""
        want = min(rows, self.capacity)
        if want <= self.width:
            return
        width = min(self.capacity, max(want, 2 * self.width))
        for name in self._stored_fields():
            old = getattr(self, name)
            new = torch.zeros(old.shape[0], width, old.shape[2], dtype=old.dtype, device=old.device)
            new[:, :old.shape[1]] = old
            setattr(self, name, new)

    def keep_episode_returns(self) -> MultiTaskBuffer:
        """Record each row's episode return (sum of the episode's rewards), which :func:`sample` then
        returns with the batch; returns ``self``.

        For buffers filled once in recording order (offline data: rows never wrap); episodes are found
        by :func:`episode_starts`. Rows added afterwards must bring their returns to :meth:`add`.
        """
        out = torch.zeros_like(self.rewards)
        for slot in range(len(self.task_ids)):
            n = int(self.sizes[slot])
            if n:
                starts = episode_starts(self.obs[slot, :n], self.next_obs[slot, :n], self.terminals[slot, :n])
                episode, totals = episode_totals(self.rewards[slot, :n], starts)
                out[slot, :n, 0] = totals[episode].to(out.dtype)
        self.episode_returns = out
        return self

    # ------------------------------------------------------------------ queries
    def slot(self, task_id: int) -> int:
        """Row of ``task_id`` in the storage tensors."""
        try:
            return self._slot[int(task_id)]
        except KeyError:
            raise ValueError(f"task {task_id} is not in this buffer (it holds {len(self.task_ids)} tasks)") from None

    def slots(self, task_ids: Sequence[int] | torch.Tensor) -> torch.Tensor:
        return torch.as_tensor([self.slot(int(t)) for t in task_ids], device=self.device)

    def __len__(self) -> int:
        return int(self.sizes.sum())

    def sample(
        self, task_ids: Sequence[int] | torch.Tensor, batch_size: int, generator: torch.Generator | None = None
    ) -> Batch:
        """``batch_size`` transitions per task, uniformly with replacement: fields ``[T, B, dim]``."""
        return sample([self], self.slots(task_ids), batch_size, generator)

    def sample_context(
        self, task_ids: Sequence[int] | torch.Tensor, context_size: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Context transitions per task as ``[T, C, obs_dim + act_dim + 1]`` rows of ``(s, a, r)``."""
        return sample_context([self], self.slots(task_ids), context_size, generator)

    # ------------------------------------------------------------------ persistence
    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """``(tensors, meta)`` that :meth:`from_state` turns back into an identical buffer.

        Only the filled prefix ``[:, :max(sizes)]`` of each field is kept (a ring buffer fills
        positions ``0..size-1`` before it wraps), so a mostly empty buffer saves small. ``meta`` is
        JSON-ready; the tensors suit ``safetensors``.
        """
        used = int(self.sizes.max()) if self.task_ids else 0
        tensors = {name: getattr(self, name)[:, :used].contiguous() for name in self._stored_fields()}
        tensors["sizes"] = self.sizes.clone()
        meta = {"task_ids": list(self.task_ids), "capacity": self.capacity, "obs_dim": self.obs_dim,
                "act_dim": self.act_dim, "next": [int(n) for n in self._next], "grow": self.grow}
        return tensors, meta

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict,
                   device: str | torch.device = "cpu") -> MultiTaskBuffer:
        """Rebuild the buffer that :meth:`state` described, on ``device``."""
        buf = cls(meta["task_ids"], meta["capacity"], meta["obs_dim"], meta["act_dim"], device,
                  with_episode_returns="episode_returns" in tensors, grow=meta.get("grow", False))
        buf._reserve(int(tensors["obs"].shape[1]))
        for name in buf._stored_fields():
            src = tensors[name]
            getattr(buf, name)[:, : src.shape[1]] = src.to(buf.device)
        buf.sizes.copy_(tensors["sizes"].to(buf.device))
        buf._next[:] = np.asarray(meta["next"], dtype=np.int64)
        return buf

    def _stored_fields(self) -> tuple[str, ...]:
        return FIELDS + (("episode_returns",) if self.episode_returns is not None else ())

    def to(self, device: str | torch.device) -> MultiTaskBuffer:
        """Move every tensor to ``device`` (in place); returns ``self``."""
        self.device = torch.device(device)
        for name in (*FIELDS, "sizes"):
            setattr(self, name, getattr(self, name).to(self.device))
        if self.episode_returns is not None:
            self.episode_returns = self.episode_returns.to(self.device)
        return self


# ---------------------------------------------------------------------- sampling from several buffers
def _pooled_rows(sources: Sequence[MultiTaskBuffer], slots: torch.Tensor, n: int,
                 generator: torch.Generator | None, names: Sequence[str]) -> list[torch.Tensor]:
    """Fields ``names`` of ``n`` rows per slot, drawn uniformly from the union of the sources' rows.

    One uniform number per row picks a position in the concatenation ``source 0 | source 1 | ...``
    of the slot's filled rows; each source is read at its share of the positions (clamped
    elsewhere, then discarded). One draw per row whatever the number of sources, so the random
    stream does not depend on how the data is split between buffers.
    """
    sizes = [src.sizes[slots] for src in sources]
    total = sizes[0]
    for size in sizes[1:]:
        total = total + size
    if bool((total == 0).any()):
        raise ValueError("cannot sample from a task with no transitions")
    u = torch.rand(len(slots), n, device=sources[0].device, generator=generator)
    position = (u * total[:, None]).long()
    rows = slots[:, None]
    if len(sources) == 1:
        return [getattr(sources[0], name)[rows, position] for name in names]
    starts, start = [], torch.zeros_like(total)
    for size in sizes:
        starts.append(start)
        start = start + size
    out = []
    for name in names:
        picked = None
        for src, begin in zip(sources, starts, strict=True):
            local = (position - begin[:, None]).clamp(0, src.width - 1)
            x = getattr(src, name)[rows, local]
            picked = x if picked is None else torch.where((position >= begin[:, None])[..., None], x, picked)
        out.append(picked)
    return out


def sample(sources: Sequence[MultiTaskBuffer], slots: torch.Tensor, n: int,
           generator: torch.Generator | None = None) -> Batch:
    """``n`` transitions per slot, uniformly from the pooled rows of ``sources``: fields ``[T, n, dim]``.

    Every source must hold the same task list (slot ``k`` is the same task in each). Uniform over
    the union means each source is picked in proportion to its size, as in rlkit's single replay
    buffer; an agent names which of its buffers (offline data, online replay, ...) to pool.
    """
    with_returns = all(src.episode_returns is not None for src in sources)
    return Batch(*_pooled_rows(sources, slots, n, generator, FIELDS + (("episode_returns",) if with_returns else ())))


def sample_context(sources: Sequence[MultiTaskBuffer], slots: torch.Tensor, n: int,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Context ``[T, n, obs + act + 1]`` of ``(s, a, r)`` rows drawn like :func:`sample`."""
    return torch.cat(_pooled_rows(sources, slots, n, generator, CONTEXT_FIELDS), dim=-1)


def sample_context_preferring(preferred: MultiTaskBuffer, fallback: MultiTaskBuffer, slots: torch.Tensor, n: int,
                              generator: torch.Generator | None = None) -> torch.Tensor:
    """Context ``[T, n, obs + act + 1]`` from ``preferred``'s rows of each slot that has any, else ``fallback``'s.

    One uniform number per row, as in :func:`sample_context`; the two buffers hold the same task list.
    """
    use = preferred.sizes[slots] > 0
    size = torch.where(use, preferred.sizes[slots], fallback.sizes[slots])
    if bool((size == 0).any()):
        raise ValueError("cannot sample from a task with no transitions")
    position = (torch.rand(len(slots), n, device=preferred.device, generator=generator) * size[:, None]).long()
    rows = slots[:, None]
    fields = []
    for name in CONTEXT_FIELDS:
        mine = getattr(preferred, name)[rows, position.clamp(max=preferred.width - 1)]
        other = getattr(fallback, name)[rows, position.clamp(max=fallback.width - 1)]
        fields.append(torch.where(use[:, None, None], mine, other))
    return torch.cat(fields, dim=-1)


def episode_starts(obs: torch.Tensor, next_obs: torch.Tensor, terminals: torch.Tensor) -> torch.Tensor:
    """``[N]`` bools: row ``i`` opens an episode (rows in recording order, one task's).

    A buffer keeps no episode ids, but within an episode ``next_obs[i]`` *is* ``obs[i + 1]``: an episode starts
    at row 0, after a terminal row and wherever that chain breaks (a reset).
    """
    starts = torch.ones(obs.shape[0], dtype=torch.bool, device=obs.device)
    starts[1:] = (next_obs[:-1] != obs[1:]).any(-1) | (terminals[:-1].reshape(-1) > 0)
    return starts


def episode_totals(rewards: torch.Tensor, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(episode [N], totals [E])``: each row's episode index and each episode's reward sum in float64
    (``starts`` from :func:`episode_starts`); ``totals[episode]`` is every row's episode return."""
    episode = torch.cumsum(starts.long(), 0) - 1
    totals = torch.zeros(int(episode[-1]) + 1, dtype=torch.float64, device=rewards.device)
    totals.index_add_(0, episode, rewards.reshape(-1).double())
    return episode, totals


def context_dim(obs_dim: int, act_dim: int) -> int:
    """Width of one context transition ``(s, a, r)``."""
    return obs_dim + act_dim + 1
