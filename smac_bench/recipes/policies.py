"""Behaviour policies of shipped SAC snapshots, run without the learner (``algos``) or its optimiser.

A snapshot is the safetensors file :meth:`smac_bench.algos.sac.TaskAwareSAC.snapshot` writes:
the actor MLP's weights (``0.weight``, ``0.bias``, ``2.weight`` ...) and, in the metadata, the
input size and action box. Dataset builds only need this file, not the SAC code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from smac_bench.errors import UserError


@dataclass(frozen=True)
class SnapshotPolicy:
    """A tanh-Gaussian MLP actor: ``a = bias + scale * tanh(mu + sigma * eps)``."""

    weights: tuple[tuple[np.ndarray, np.ndarray], ...]
    low: np.ndarray
    high: np.ndarray
    meta: dict[str, Any]
    path: str

    @classmethod
    def load(cls, path: str | Path) -> SnapshotPolicy:
        """Read a snapshot; a clear :class:`UserError` if it is missing or not a snapshot."""
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise UserError(f"behaviour-policy snapshot {path} is missing: reinstall smac-bench or rebuild "
                            "the snapshots with `smac-bench datasets build NAME --from-scratch`")
        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = json.loads((f.metadata() or {})["smac_bench"])
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as exc:  # safetensors raises several types for a corrupt header
            raise UserError(f"{path} is not a readable policy snapshot ({exc}): restore it from git or "
                            "rebuild with `smac-bench datasets build NAME --from-scratch`") from None
        layers = sorted({int(k.split(".")[0]) for k in tensors})
        weights = tuple((tensors[f"{i}.weight"].astype(np.float32), tensors[f"{i}.bias"].astype(np.float32))
                        for i in layers)
        low = np.asarray(meta["action_low"], np.float32)
        high = np.asarray(meta["action_high"], np.float32)
        return cls(weights, low, high, meta, str(path))

    @property
    def in_dim(self) -> int:
        return int(self.weights[0][0].shape[1])

    @cached_property
    def _torch_weights(self) -> list[tuple[Any, Any]]:
        import torch

        return [(torch.from_numpy(w.T.copy()), torch.from_numpy(b)) for w, b in self.weights]

    def act(self, x: np.ndarray, noise: np.ndarray | None, task_ids: np.ndarray | None = None) -> np.ndarray:
        """Actions for inputs ``x [N, in_dim]``; ``noise [N, act_dim]`` standard normal, or ``None`` for the mean.

        ``task_ids`` is unused: the task is already in the features appended to ``x``. The MLP
        runs in torch because a single-threaded torch matmul of this size is ~3x faster than
        numpy's multi-threaded OpenBLAS (and ~20x faster on a busy machine); call it inside
        :func:`smac_bench.utils.threads.single_thread`.
        """
        import torch

        with torch.inference_mode():
            h = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
            for i, (w, b) in enumerate(self._torch_weights):
                h = torch.addmm(b, h, w)
                if i < len(self._torch_weights) - 1:
                    h = h.relu()
            h = h.numpy()
        mu, log_std = np.split(h, 2, axis=-1)
        u = mu if noise is None else mu + np.exp(np.clip(log_std, -20.0, 2.0)) * noise
        return ((self.high + self.low) / 2 + (self.high - self.low) / 2 * np.tanh(u)).astype(np.float32)




@dataclass(frozen=True)
class QuarterTurnPolicy:
    """An ant-dir behaviour policy made to walk every way by the ant's four-fold symmetry.

    For direction ``theta`` it turns the ant by the quarter turns ``k`` that bring ``theta - k pi/2``
    into the 90-degree window around ``centre`` (radians) where ``inner`` walks best, acts there and
    turns the action back (:func:`smac_bench.envs.ant_dir.turn_observation`). The symmetry is exact,
    so this is the same policy on the window and its rotated copy elsewhere; the direction-conditioned
    SAC alone learnt the directions one sector at a time (issue #16: 183-257 degrees still stood at
    775k env steps while 50-160 walked). Inputs are ``[obs (27), cos theta, sin theta]``, as for ``inner``.
    """

    inner: SnapshotPolicy
    centre: float

    def act(self, x: np.ndarray, noise: np.ndarray | None, task_ids: np.ndarray | None = None) -> np.ndarray:
        from smac_bench.envs.ant_dir import turn_action, turn_observation

        theta = np.arctan2(x[:, -1], x[:, -2])
        turns = np.floor((theta - self.centre + np.pi / 4) / (np.pi / 2)).astype(int) % 4
        out = np.empty((len(x), len(self.inner.low)), np.float32)
        for k in np.unique(turns):
            rows = turns == k
            local = theta[rows] - k * np.pi / 2
            xk = np.concatenate([turn_observation(x[rows, :-2], -k), np.cos(local)[:, None],
                                 np.sin(local)[:, None]], axis=1)
            out[rows] = turn_action(self.inner.act(xk, None if noise is None else noise[rows]), k)
        return out
