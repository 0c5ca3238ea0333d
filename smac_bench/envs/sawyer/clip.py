"""Render a ``sawyer-manip`` episode to an animated GIF (``smac-bench render``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from smac_bench.errors import UserError


def render_scripted_episode(task_id: int, out: str | Path, steps: int | None = None, every: int = 4,
                            size: int = 320, noise_std: float = 0.0, seed: int = 0) -> dict[str, object]:
    """Roll out the scripted controller of task ``task_id`` and write every ``every``-th frame to
    the GIF ``out`` (written atomically). Returns ``{"frames", "steps", "success"}``.

    Raises :class:`UserError` for an unknown task id, a non-``.gif`` path, or no OpenGL backend.
    """
    from PIL import Image

    from smac_bench.envs.sawyer.env import SawyerManipEnv
    from smac_bench.envs.sawyer.scripted import ScriptedPolicy

    out = Path(out)
    if out.suffix.lower() != ".gif":
        raise UserError(f"--out {out} must end in .gif")
    if every < 1 or size < 16:
        raise UserError("--every must be >= 1 and --size >= 16")
    env = SawyerManipEnv(render_mode="rgb_array", width=size, height=size)
    try:
        env.family.task(task_id)
    except ValueError as err:
        raise UserError(str(err)) from None
    horizon = steps if steps is not None else env.family.max_episode_steps
    obs, info = env.reset(seed=seed, options={"task_id": task_id})
    policy = ScriptedPolicy(env.task, noise_std=noise_std, seed=seed)
    try:
        frames = [env.render()]
    except Exception as err:  # no usable OpenGL: say which package fixes it
        raise UserError(
            f"cannot render ({type(err).__name__}: {err}); on a headless Linux machine install "
            "libosmesa6 (apt-get install libosmesa6) and set MUJOCO_GL=osmesa"
        ) from None
    success = bool(info["success"])
    for t in range(horizon):
        obs, _, _, _, info = env.step(policy(obs))
        success = success or bool(info["success"])
        if (t + 1) % every == 0:
            frames.append(env.render())
    env.close()
    images = [Image.fromarray(np.asarray(f)) for f in frames]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".gif", dir=out.parent)
    os.close(fd)
    try:
        frame_ms = int(round(1000 * env.dt * every))  # real time
        images[0].save(tmp, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return {"frames": len(frames), "steps": horizon, "success": success}
