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


@pytest.fixture
def one_torch_thread():
    """Tiny nets on a shared 2-core box: one intra-op thread avoids oversubscription stalls."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
