"""Render a ``sawyer-manip`` episode of the scripted controller to an animated GIF.

The env-level half of ``smac-bench render``: it needs no dataset. With ``sibling=J`` the clip shows
task ``J`` (a sibling on the same table layout) next to the task, each panel labelled with its
task, aim and return so far: the scene is the same, only the hidden aim differs. Replaying an episode of the
offline dataset sits above the data layer, in :mod:`smac_bench.recipes.clip`, which reuses the
GIF writer here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from smac_bench.errors import UserError


def check_out(out: str | Path, every: int, size: int) -> Path:
    out = Path(out)
    if out.suffix.lower() != ".gif":
        raise UserError(f"the clip {out} must be a .gif file")
    if every < 1 or size < 16:
        raise UserError(f"frames every {every} steps at {size} pixels: the step must be >= 1 and the size >= 16")
    return out


def make_render_env(task_id: int, size: int, sibling: int | None = None):
    """A rendering env of the ``sawyer-manip`` family; :class:`UserError` for an unknown task id, or
    a ``sibling`` that is not another task on ``task_id``'s layout."""
    from smac_bench.envs.sawyer.env import SawyerManipV1Env

    env = SawyerManipV1Env(render_mode="rgb_array", width=size, height=size)
    try:
        env.family.task(task_id)
        if sibling is not None:
            env.family.task(sibling)
    except ValueError as err:
        env.close()
        raise UserError(str(err)) from None
    if sibling is not None:
        siblings = layout_siblings_of(env.family, task_id)
        if sibling == task_id or sibling not in siblings:
            env.close()
            others = ", ".join(str(k) for k in siblings if k != task_id)
            raise UserError(f"task {sibling} is not a sibling of task {task_id}: the siblings on its layout "
                            f"are {others}")
    return env


def layout_siblings_of(family, task_id: int) -> tuple[int, ...]:
    """Ids of every task on ``task_id``'s table layout (itself included), in id order."""
    layout = family.task(task_id).params["layout"]
    return tuple(t.task_id for t in family.tasks if t.params["layout"] == layout)


def label(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` with ``text`` written in its top-left corner (white on a dark box)."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(np.asarray(frame))
    draw = ImageDraw.Draw(image)
    box = draw.multiline_textbbox((3, 2), text)
    draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
    draw.multiline_text((3, 2), text, fill=(255, 255, 255))
    return np.asarray(image)


def side_by_side(left: list[np.ndarray], right: list[np.ndarray], gap: int = 4) -> list[np.ndarray]:
    """Frames of two clips of equal length next to each other, a white ``gap`` pixels between them."""
    out = []
    for a, b in zip(left, right, strict=True):
        bar = np.full((a.shape[0], gap, 3), 255, dtype=np.uint8)
        out.append(np.concatenate([a, bar, b], axis=1))
    return out


def write_gif(frames: list[np.ndarray], out: Path, frame_ms: int) -> None:
    """Write ``frames`` as a looping GIF, atomically (temporary file + rename)."""
    from PIL import Image

    images = [Image.fromarray(np.asarray(f)) for f in frames]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".gif", dir=out.parent)
    os.close(fd)
    try:
        images[0].save(tmp, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; a plain file gets the usual mode
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------------------------- scripted
def _scripted_frames(env, task_id: int, horizon: int, every: int, noise_std: float, seed: int,
                     labelled: bool) -> tuple[list[np.ndarray], bool]:
    from smac_bench.envs.sawyer.scripted import ScriptedPolicy

    obs, info = env.reset(seed=seed, options={"task_id": task_id})
    policy = ScriptedPolicy(env.task, noise_std=noise_std, seed=seed)
    aim = env.task.params["aim"]
    tag = (lambda ret: label(env.render(), f"task {task_id}: {aim}\nreturn {ret:.0f}")) if labelled \
        else (lambda _ret: env.render())
    frames, ret = [tag(0.0)], 0.0
    success = bool(info["success"])
    for t in range(horizon):
        obs, reward, _, _, info = env.step(policy(obs))
        ret += reward
        success = success or bool(info["success"])
        if (t + 1) % every == 0:
            frames.append(tag(ret))
    return frames, success


def render_scripted_episode(task_id: int, out: str | Path, steps: int | None = None, every: int = 4,
                            size: int = 320, noise_std: float = 0.0, seed: int = 0,
                            sibling: int | None = None) -> dict[str, object]:
    """Roll out the scripted controller of task ``task_id`` and write every ``every``-th frame to
    the GIF ``out`` (written atomically). Returns ``{"frames", "steps", "success"}``, plus
    ``"sibling_success"`` when ``sibling`` (another task of the same layout, rolled out with its
    own controller) is shown on the right.

    Raises :class:`UserError` for an unknown task id, a ``sibling`` on another layout, a
    non-``.gif`` path, or no OpenGL backend.
    """
    out = check_out(out, every, size)
    env = make_render_env(task_id, size, sibling)
    horizon = steps if steps is not None else env.family.max_episode_steps
    frames, success = _scripted_frames(env, task_id, horizon, every, noise_std, seed, sibling is not None)
    result: dict[str, object] = {"steps": horizon, "success": success}
    if sibling is not None:
        right, result["sibling_success"] = _scripted_frames(env, sibling, horizon, every, noise_std, seed, True)
        frames = side_by_side(frames, right)
    env.close()
    write_gif(frames, out, int(round(1000 * env.dt * every)))  # real time
    return {"frames": len(frames), **result}
