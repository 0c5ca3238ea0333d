"""Offscreen OpenGL for rendering, chosen only when a frame is first asked for.

MuJoCo fixes ``mujoco.gl_context.GLContext`` from ``MUJOCO_GL`` when ``mujoco`` is first imported,
and a backend whose library is missing breaks that import itself (``MUJOCO_GL=osmesa`` without
``libosmesa6`` raises inside ``import mujoco``). So smac-bench never touches ``MUJOCO_GL`` at
import time: stepping, training and evaluation need no OpenGL at all.

The first render picks a backend that really loads:

* ``MUJOCO_GL`` set by the user always wins (and is only checked, never replaced);
* otherwise GLFW where there is a display, then the headless ones: OSMesa (software, Debian
  ``libosmesa6``), then EGL (needs a GPU driver or Mesa's EGL).

Each candidate is probed in a short subprocess, because a PyOpenGL platform that failed to load
cannot be unloaded from this process. The chosen backend's ``GLContext`` is then installed where
``mujoco.Renderer`` reads it (``mujoco.gl_context.GLContext``). With none, rendering raises
:class:`RenderingUnavailable`, one line naming the package to install.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

from smac_bench.errors import UserError

HEADLESS_BACKENDS = ("osmesa", "egl")
INSTALL_HINT = ("install OSMesa for software rendering (Debian/Ubuntu: apt-get install libosmesa6), "
                "or set MUJOCO_GL=egl on a machine with a GPU driver")

_PROBE = """
import mujoco
model = mujoco.MjModel.from_xml_string('<mujoco><worldbody><geom size="1"/></worldbody></mujoco>')
renderer = mujoco.Renderer(model, 8, 8)
renderer.render()
renderer.close()
"""


class RenderingUnavailable(UserError):
    """No OpenGL backend loads on this machine; only rendering needs one."""


def _probe(backend: str) -> bool:
    """Whether ``mujoco.Renderer`` works with ``MUJOCO_GL=backend``, tried in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    env["MUJOCO_GL"] = backend
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@functools.cache
def gl_backend() -> str:
    """The OpenGL backend rendering uses here (probed once per process)."""
    user = os.environ.get("MUJOCO_GL", "").strip().lower()
    if user:
        if _probe(user):
            return user
        raise RenderingUnavailable(f"MUJOCO_GL={user} does not load here; unset it or {INSTALL_HINT}")
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    for backend in (("glfw",) if display else ()) + HEADLESS_BACKENDS:
        if _probe(backend):
            return backend
    raise RenderingUnavailable(f"no OpenGL backend loads here, so nothing can be rendered: {INSTALL_HINT}")


def renderer(model, height: int, width: int):
    """A ``mujoco.Renderer`` on the backend :func:`gl_backend` picks."""
    import mujoco
    from mujoco import gl_context

    backend = gl_backend()
    try:
        if backend in HEADLESS_BACKENDS and os.environ.get("MUJOCO_GL", "").strip().lower() != backend:
            # mujoco chose its context class at import; point it at the backend that loads.
            os.environ.setdefault("PYOPENGL_PLATFORM", backend)
            if backend == "osmesa":
                from mujoco.osmesa import GLContext
            else:
                from mujoco.egl import GLContext
            gl_context.GLContext = GLContext
        return mujoco.Renderer(model, height, width)
    except Exception as err:  # e.g. PyOpenGL already loaded on another platform in this process
        raise RenderingUnavailable(f"cannot open a {backend} OpenGL context ({type(err).__name__}: {err}); "
                                   f"set MUJOCO_GL={backend} before starting Python") from None
