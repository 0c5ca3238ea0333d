"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def gl_backend() -> str:
    """The OpenGL backend rendering uses here; the test skips, saying why, where none loads."""
    from smac_bench.envs.render import RenderingUnavailable, gl_backend

    try:
        return gl_backend()
    except RenderingUnavailable as err:
        pytest.skip(str(err))
