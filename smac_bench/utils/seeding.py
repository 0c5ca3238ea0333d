"""One seed drives everything: helpers that derive independent, reproducible random streams.

Library code never touches the *global* torch/numpy RNGs during training: each component owns
explicit generators derived from the run's seed, so evaluation or logging cannot shift the
random numbers that training sees, and a checkpoint can capture every stream exactly.
"""

from __future__ import annotations

import numpy as np
import torch


def derive_seed(seed: int, *stream: int | str) -> int:
    """A 63-bit seed for the named sub-``stream`` of ``seed`` (stable across runs and machines).

    Uses numpy's ``SeedSequence`` so different streams are statistically independent.
    """
    words = [int(seed)] + [s if isinstance(s, int) else int.from_bytes(s.encode(), "little") % 2**32
                           for s in stream]
    return int(np.random.SeedSequence(words).generate_state(2, dtype=np.uint32).astype(np.uint64)
               .dot(np.array([1, 2**32], dtype=np.uint64)) >> np.uint64(1))


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(int(seed))
    return g


def numpy_generator(seed: int) -> np.random.Generator:
    """A numpy ``Generator`` (PCG64) seeded with ``seed``."""
    return np.random.default_rng(int(seed))
