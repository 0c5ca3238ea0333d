"""Render a ``sawyer-manip`` episode of the scripted controller to an animated GIF.

The env-level half of ``smac-bench render``: it needs no dataset. Replaying an episode of the
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


def make_render_env(task_id: int, size: int):
    from smac_bench.envs.sawyer.env import SawyerManipEnv

    env = SawyerManipEnv(render_mode="rgb_array", width=size, height=size)
    try:
        env.family.task(task_id)
    except ValueError as err:
        raise UserError(str(err)) from None
    return env


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
def render_scripted_episode(task_id: int, out: str | Path, steps: int | None = None, every: int = 4,
                            size: int = 320, noise_std: float = 0.0, seed: int = 0) -> dict[str, object]:
    """Roll out the scripted controller of task ``task_id`` and write every ``every``-th frame to
    the GIF ``out`` (written atomically). Returns ``{"frames", "steps", "success"}``.

    Raises :class:`UserError` for an unknown task id, a non-``.gif`` path, or no OpenGL backend.
    """
    from smac_bench.envs.sawyer.scripted import ScriptedPolicy

    out = check_out(out, every, size)
    env = make_render_env(task_id, size)
    horizon = steps if steps is not None else env.family.max_episode_steps
    obs, info = env.reset(seed=seed, options={"task_id": task_id})
    policy = ScriptedPolicy(env.task, noise_std=noise_std, seed=seed)
    frames = [env.render()]
    success = bool(info["success"])
    for t in range(horizon):
        obs, _, _, _, info = env.step(policy(obs))
        success = success or bool(info["success"])
        if (t + 1) % every == 0:
            frames.append(env.render())
    env.close()
    write_gif(frames, out, int(round(1000 * env.dt * every)))  # real time
    return {"frames": len(frames), "steps": horizon, "success": success}
