"""Render a ``sawyer-manip`` episode to an animated GIF (``smac-bench render``), replaying the dataset.

It reads the installed offline dataset, so it sits above the data layer (the scripted controller
alone is :mod:`smac_bench.envs.sawyer.clip`).

Two sources of episodes:

* **offline** (training tasks, the default): an episode of the installed dataset
  ``smac-bench/sawyer-manip/scripted-v2``, replayed in the simulator. The env is deterministic,
  so resetting with the episode's recorded seed and reset options and stepping its recorded
  actions reproduces the recorded observations (to float32 rounding, the dtype the dataset is read
  in); :func:`replay_episode` measures the largest deviation and the clip reports it.
* **scripted**: the task's waypoint controller (test tasks, which have no offline data, or when
  asked for).

With ``sibling=J`` the clip shows the same-numbered episode of task ``J``, a sibling on the same
table layout, next to the task's. The scripted behaviour records one episode per slot for all
siblings of a layout, so the two panels move identically and only their labels (aim, return so
far) differ: the reward alone tells siblings apart. :func:`write_frame_strip` puts such pairs side
by side for the dataset card.

A missing dataset is a one-line :class:`UserError` that says how to build it (the scripted
controller renders without it), rather than a silent switch to another kind of episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from smac_bench.envs import family_spec
from smac_bench.envs.sawyer.clip import (
    check_out,
    label,
    make_render_env,
    render_scripted_episode,
    side_by_side,
    write_gif,
)
from smac_bench.errors import UserError

DATASET_FAMILY = "sawyer-manip"
REPLAY_TOLERANCE = 1e-4  # max |replayed - recorded| observation entry that still counts as exact


@dataclass
class OfflineEpisode:
    """One episode of a dataset: what is needed to replay it and to check the replay."""

    dataset_id: str
    index: int  # episode number in the dataset (``episode_<index>``)
    task_id: int
    rank: int  # which of the task's episodes (0-based, dataset order: poor -> good behaviour)
    task_episodes: int  # how many episodes the dataset holds for this task
    seed: int
    policy: int  # behaviour policy index (see the dataset card)
    observations: np.ndarray  # [T + 1, obs_dim] float32
    actions: np.ndarray  # [T, act_dim] float32
    rewards: np.ndarray  # [T] float32

    @property
    def length(self) -> int:
        return len(self.actions)


# ----------------------------------------------------------------------------------- offline
def _dataset_id() -> str:
    return family_spec(DATASET_FAMILY).dataset_id


def offline_episode(task_id: int, episode: int = -1, dataset_id: str | None = None) -> OfflineEpisode | None:
    """The ``episode``-th (Python indexing: -1 is the last) dataset episode of task ``task_id``.

    Returns ``None`` when the dataset holds no episode of the task (test tasks, or a dataset
    built for a subset of the training tasks). Raises :class:`UserError` when the dataset is not
    installed, is not a ``sawyer-manip`` dataset, or ``episode`` is out of range.
    """
    from smac_bench.data import minari_io
    from smac_bench.data.checks import check_family

    dataset_id = dataset_id or _dataset_id()
    if not minari_io.is_installed(dataset_id):
        raise UserError(f"dataset {dataset_id} is not installed in {minari_io.datasets_root()}: run "
                        f"`smac-bench datasets build {DATASET_FAMILY}` (or render the scripted controller)")
    check_family(dataset_id, minari_io.read_metadata(dataset_id))
    rows = minari_io.episode_table(dataset_id)
    mine = [i for i, r in enumerate(rows) if r["task_id"] == task_id]
    if not mine:
        return None
    if not -len(mine) <= episode < len(mine):
        raise UserError(f"episode {episode} is out of range: the dataset holds {len(mine)} episodes of "
                        f"task {task_id} (use 0..{len(mine) - 1}, or -1 for the last)")
    rank = episode % len(mine)
    index = mine[rank]
    arrays = minari_io.load_arrays(dataset_id)
    sel = np.flatnonzero(arrays["episode"] == index)
    observations = np.concatenate([arrays["obs"][sel], arrays["next_obs"][sel[-1:]]])
    return OfflineEpisode(
        dataset_id=dataset_id, index=index, task_id=task_id, rank=rank, task_episodes=len(mine),
        seed=rows[index]["seed"], policy=rows[index]["policy"], observations=observations,
        actions=arrays["actions"][sel], rewards=arrays["rewards"][sel],
    )


def replay_episode(ep: OfflineEpisode, env: Any = None, every: int | None = None,
                   steps: int | None = None, render_steps: Any = None) -> dict[str, Any]:
    """Reset with the episode's seed and reset options, step its recorded actions.

    Returns ``{"observations" [T+1, obs_dim] float64, "rewards" [T], "success", "max_obs_error",
    "frames"}``; ``frames`` (every ``every``-th step, from the reset on) only when ``every`` is
    given, or at the steps in ``render_steps`` (0 = after the reset; ``env`` must then render
    ``rgb_array``). ``max_obs_error`` is the largest
    ``|replayed - recorded|`` observation entry.
    """
    from smac_bench.envs.sawyer.env import SawyerManipV1Env

    own = env is None
    env = SawyerManipV1Env() if own else env
    n = ep.length if steps is None else min(steps, ep.length)
    obs, info = env.reset(seed=ep.seed, options={"task_id": ep.task_id})
    wanted = set(range(0, n + 1, every)) if every else set(render_steps or ())
    frames = [env.render()] if 0 in wanted else []
    observations, rewards, success = [obs], [], bool(info["success"])
    for t in range(n):
        obs, reward, _, _, info = env.step(ep.actions[t])
        observations.append(obs)
        rewards.append(reward)
        success = success or bool(info["success"])
        if t + 1 in wanted:
            frames.append(env.render())
    if own:
        env.close()
    observations = np.asarray(observations)
    return {"observations": observations, "rewards": np.asarray(rewards), "success": success, "frames": frames,
            "max_obs_error": float(np.abs(observations - ep.observations[: n + 1]).max())}


def _labelled(frames: list[np.ndarray], ep: OfflineEpisode, aim: str, every: int) -> list[np.ndarray]:
    """Replayed frames (every ``every``-th step from the reset) labelled with the task, its aim and
    the return so far (the recorded rewards)."""
    cumulative = np.concatenate([[0.0], np.cumsum(ep.rewards)])
    return [label(f, f"task {ep.task_id}: {aim}\nreturn {cumulative[i * every]:.0f}") for i, f in enumerate(frames)]


def render_episode(task_id: int, out: str | Path, *, episode: int = -1, scripted: bool = False,
                   steps: int | None = None, every: int = 4, size: int = 320, noise_std: float = 0.0,
                   seed: int = 0, sibling: int | None = None) -> dict[str, Any]:
    """``smac-bench render``: an offline episode of a training task, else the scripted controller.

    Returns ``{"source": "offline" | "scripted", "frames", "steps", "success", "note"}`` plus, for
    offline episodes, ``"episode"`` (dataset episode number), ``"rank"``, ``"task_episodes"``,
    ``"seed"``, ``"return"`` and ``"max_obs_error"``. ``note`` (or ``""``) says why the
    scripted controller was used. If a replay drifts from the recorded observations by more than
    :data:`REPLAY_TOLERANCE` the result says so in ``note`` (the clip shows the replay).

    ``sibling``: another task of the same layout, shown on the right (its ``episode``-th offline
    episode, or its own scripted controller); the result then holds ``"sibling"``, a dict with the
    sibling's ``"task_id"``, ``"aim"``, ``"success"`` and, offline, ``"episode"`` and ``"return"``.
    """
    out = check_out(out, every, size)
    env = make_render_env(task_id, size, sibling)  # validates the task id and the sibling
    fam = env.family
    ep, ep_sib, note = None, None, ""
    if scripted:
        pass  # asked for: no note
    elif task_id not in fam.train_ids:
        note = (f"task {task_id} is a test task and the offline dataset holds training tasks only: "
                "showing the scripted controller")
    else:
        ep = offline_episode(task_id, episode)
        if ep is None:
            note = (f"the installed dataset {_dataset_id()} holds no episode of task {task_id}: "
                    "showing the scripted controller")
        elif sibling is not None:
            ep_sib = offline_episode(sibling, episode)
            if ep_sib is None:
                ep = None
                note = (f"the installed dataset {_dataset_id()} holds no episode of task {sibling}: "
                        "showing the scripted controllers")
    if ep is None:
        env.close()
        result = render_scripted_episode(task_id, out, steps, every, size, noise_std, seed, sibling)
        if sibling is not None:
            result["sibling"] = {"task_id": sibling, "aim": fam.task(sibling).params["aim"],
                                 "success": result.pop("sibling_success")}
        return {"source": "scripted", "note": note, **result}
    result = replay_episode(ep, env, every=every, steps=steps)
    frames, extra = result["frames"], {}
    drift = result["max_obs_error"]
    if ep_sib is not None:
        right = replay_episode(ep_sib, env, every=every, steps=steps)
        frames = side_by_side(_labelled(frames, ep, fam.task(task_id).params["aim"], every),
                              _labelled(right["frames"], ep_sib, fam.task(sibling).params["aim"], every))
        drift = max(drift, right["max_obs_error"])
        n_sib = len(right["rewards"])
        extra["sibling"] = {"task_id": sibling, "aim": fam.task(sibling).params["aim"], "success": right["success"],
                            "episode": ep_sib.index, "return": float(ep_sib.rewards[:n_sib].sum())}
    env.close()
    write_gif(frames, out, int(round(1000 * env.dt * every)))
    n = len(result["rewards"])
    note = ""
    if drift > REPLAY_TOLERANCE:
        note = (f"the replay drifts from the recorded observations (max error {drift:.2g}): "
                "the clip shows the replayed actions")
    return {"source": "offline", "note": note, "frames": len(frames), "steps": n,
            "success": result["success"], "episode": ep.index, "rank": ep.rank, "task_episodes": ep.task_episodes,
            "seed": ep.seed, "policy": ep.policy, "return": float(ep.rewards[:n].sum()),
            "max_obs_error": drift, **extra}


def write_frame_strip(out: str | Path, picks: list[Any], frames_per_episode: int = 5,
                      size: int = 160, dataset_id: str | None = None, gap: int = 6) -> Path:
    """A PNG of ``frames_per_episode`` evenly spaced frames per offline episode (the dataset card's
    example frames). Each entry of ``picks`` is one row: a ``(task_id, episode)`` pair, or a list of
    such pairs shown side by side (e.g. two siblings of one layout), ``gap`` white pixels apart.
    Each episode's first frame is labelled with its task, aim, slot and return. Returns ``out``."""
    from PIL import Image

    from smac_bench.envs.sawyer.env import SawyerManipV1Env

    out, rows = Path(out), []
    for row in picks:
        panels = [tuple(row)] if isinstance(row[0], (int, np.integer)) else [tuple(p) for p in row]
        tiles_row: list[np.ndarray] = []
        for p, (task_id, episode) in enumerate(panels):
            ep = offline_episode(task_id, episode, dataset_id)
            if ep is None:
                raise UserError(f"the dataset holds no episode of task {task_id}")
            env = SawyerManipV1Env(render_mode="rgb_array", width=size, height=size)
            keep = np.linspace(0, ep.length, frames_per_episode).round().astype(int).tolist()
            replay = replay_episode(ep, env, render_steps=keep)
            env.close()
            cumulative = np.concatenate([[0.0], np.cumsum(ep.rewards)])
            if p:
                tiles_row.append(np.full((size, gap, 3), 255, dtype=np.uint8))
            for i, (t, frame) in enumerate(zip(keep, replay["frames"], strict=True)):
                text = (f"task {task_id}: {env.task.params['aim']}\nepisode {ep.rank}, t={t}" if i == 0
                        else f"t={t}") + f"\nreturn {cumulative[t]:.0f}"
                tiles_row.append(label(frame, text))
        rows.append(np.concatenate(tiles_row, axis=1))
    width = max(r.shape[1] for r in rows)
    strip = np.full((size * len(rows) + gap * (len(rows) - 1), width, 3), 255, dtype=np.uint8)
    for r, row in enumerate(rows):
        strip[r * (size + gap):r * (size + gap) + size, :row.shape[1]] = row
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    Image.fromarray(strip).save(tmp, optimize=True)
    tmp.replace(out)
    return out
