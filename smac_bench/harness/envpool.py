"""Pools of envs stepped in lockstep: in this process, or spread over worker processes.

The evaluation harness owns one pool per run and reuses it at every evaluation (building ~100
MuJoCo envs costs seconds). Both pools have the same small API — ``ensure(n)``,
``reset(idx, task_ids, seeds)``, ``step(idx, actions)`` — and give identical numbers, since every
episode is reset with an explicit seed and task.

Why processes: MuJoCo's ``mj_step`` keeps the GIL (two threads stepping Ants measured no faster
than one), and for Ant / Sawyer the physics, not the policy, is ~90 % of an evaluation.
"""

from __future__ import annotations

import math
import multiprocessing as mp
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

import gymnasium
import numpy as np

StepResult = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # obs, reward, done, success (NaN: none)


def _step_envs(envs: Sequence[gymnasium.Env], actions: np.ndarray) -> StepResult:
    obs, rew, done, success = [], np.zeros(len(envs)), np.zeros(len(envs), bool), np.full(len(envs), np.nan)
    for j, env in enumerate(envs):
        o, r, terminated, truncated, info = env.step(actions[j])
        obs.append(o)
        rew[j] = r
        done[j] = terminated or truncated
        s = info.get("success")
        if s is not None:
            success[j] = float(bool(s))
    return np.asarray(obs, dtype=np.float32), rew, done, success


def _reset_envs(envs: Sequence[gymnasium.Env], task_ids: Sequence[int], seeds: Sequence[int]) -> np.ndarray:
    return np.asarray([env.reset(seed=int(s), options={"task_id": int(k)})[0]
                       for env, k, s in zip(envs, task_ids, seeds, strict=True)], dtype=np.float32)


class EnvPool:
    """Envs in this process."""

    def __init__(self, make_env: Callable[[], gymnasium.Env]) -> None:
        self.make_env = make_env
        self._envs: list[gymnasium.Env] = []
        self.action_shape: tuple[int, ...] | None = None

    def ensure(self, n: int) -> None:
        """Make sure ``n`` envs exist."""
        while len(self._envs) < n:
            self._envs.append(self.make_env())
        self.action_shape = self._envs[0].action_space.shape

    def reset(self, idx: Sequence[int], task_ids: Sequence[int], seeds: Sequence[int]) -> np.ndarray:
        """Reset envs ``idx`` to the given tasks and seeds; first observations ``[len(idx), obs_dim]``."""
        return _reset_envs([self._envs[i] for i in idx], task_ids, seeds)

    def step(self, idx: Sequence[int], actions: np.ndarray) -> StepResult:
        """Step envs ``idx`` with ``actions[j]``; ``done`` = terminated or truncated."""
        return _step_envs([self._envs[i] for i in idx], actions)

    def close(self) -> None:
        for env in self._envs:
            env.close()
        self._envs.clear()


def _worker(conn: Connection, make_env: Callable[[], gymnasium.Env]) -> None:
    """Worker process: owns some envs, answers ensure/reset/step/close commands."""
    envs: list[gymnasium.Env] = []
    try:
        while True:
            cmd, payload = conn.recv()
            if cmd == "ensure":
                while len(envs) < payload:
                    envs.append(make_env())
                conn.send(envs[0].action_space.shape if envs else None)
            elif cmd == "reset":
                local, task_ids, seeds = payload
                conn.send(_reset_envs([envs[i] for i in local], task_ids, seeds))
            elif cmd == "step":
                local, actions = payload
                conn.send(_step_envs([envs[i] for i in local], actions))
            elif cmd == "close":
                break
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        for env in envs:
            env.close()
        conn.close()


class ProcessEnvPool:
    """Envs spread over ``workers`` processes; env ``i`` lives in worker ``i % workers``.

    Interleaving keeps the envs still running (long episodes, low ids) balanced across workers.
    Every call sends to all involved workers first and then collects, so they step in parallel.
    ``make_env`` must be picklable (e.g. ``functools.partial(smac_bench.make_env, name)``).
    """

    def __init__(self, make_env: Callable[[], gymnasium.Env], workers: int) -> None:
        ctx = mp.get_context("spawn")  # workers never touch torch; spawn avoids forking its threads
        self.workers = workers
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, make_env), daemon=True)
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)
        self.size = 0
        self.action_shape: tuple[int, ...] | None = None

    def ensure(self, n: int) -> None:
        if n <= self.size:
            return
        per = math.ceil(n / self.workers)
        for c in self._conns:
            c.send(("ensure", per))
        shapes = [c.recv() for c in self._conns]
        self.action_shape, self.size = shapes[0], per * self.workers

    def _split(self, idx: Sequence[int]) -> list[np.ndarray]:
        """Positions in ``idx`` handled by each worker."""
        idx = np.asarray(idx)
        return [np.flatnonzero(idx % self.workers == w) for w in range(self.workers)]

    def _call(self, cmd: str, idx: Sequence[int], make_payload: Callable[[np.ndarray, np.ndarray], Any]) -> list:
        idx = np.asarray(idx)
        parts = self._split(idx)
        busy = []
        for w, pos in enumerate(parts):
            if pos.size:
                self._conns[w].send((cmd, make_payload(idx[pos] // self.workers, pos)))
                busy.append((w, pos))
        return [(pos, self._conns[w].recv()) for w, pos in busy]

    def reset(self, idx: Sequence[int], task_ids: Sequence[int], seeds: Sequence[int]) -> np.ndarray:
        task_ids, seeds = np.asarray(task_ids), np.asarray(seeds)
        answers = self._call("reset", idx, lambda local, pos: (local.tolist(), task_ids[pos].tolist(),
                                                               seeds[pos].tolist()))
        out = None
        for pos, obs in answers:
            out = np.zeros((len(idx), *obs.shape[1:]), np.float32) if out is None else out
            out[pos] = obs
        return out

    def step(self, idx: Sequence[int], actions: np.ndarray) -> StepResult:
        answers = self._call("step", idx, lambda local, pos: (local.tolist(), actions[pos]))
        n = len(idx)
        obs = rew = done = success = None
        for pos, (o, r, d, s) in answers:
            if obs is None:
                obs = np.zeros((n, *o.shape[1:]), np.float32)
                rew, done, success = np.zeros(n), np.zeros(n, bool), np.full(n, np.nan)
            obs[pos], rew[pos], done[pos], success[pos] = o, r, d, s
        return obs, rew, done, success

    def close(self) -> None:
        for c in self._conns:
            try:
                c.send(("close", None))
                c.close()
            except (OSError, BrokenPipeError):
                pass
        for p in self._procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        self._conns.clear()
        self._procs.clear()

    def __del__(self) -> None:  # a forgotten pool must not leave processes behind
        if self._procs:
            self.close()


def make_pool(make_env: Callable[[], gymnasium.Env], workers: int = 0) -> EnvPool | ProcessEnvPool:
    """An in-process pool (``workers <= 1``) or one spread over ``workers`` processes."""
    return ProcessEnvPool(make_env, workers) if workers > 1 else EnvPool(make_env)
