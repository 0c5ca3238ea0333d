"""The preset names every config knows: ``smoke``, ``quick``, ``standard``, ``paper``.

Schedules (``harness.config.SCHEDULES``) and agent configs (``algos``) each define what a preset
means for them; the names, and the one check that refuses an unknown name, live here, at the
bottom of the package, so every layer raises the same :class:`UserError` with the same words.
"""

from __future__ import annotations

from smac_bench.errors import UserError

PRESETS = ("smoke", "quick", "standard", "paper")


def check_preset(name: str) -> str:
    """``name`` if it is a preset; a one-line :class:`UserError` listing the presets otherwise."""
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return name
