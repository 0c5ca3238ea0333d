"""Checks of command-line values, run before any work starts: one line naming the flag and the fix."""

from __future__ import annotations

import os
from pathlib import Path

from smac_bench.errors import UserError


def at_least(minimum: int, **values: int | None) -> None:
    """Every given ``--flag`` value (``None``: not given) is a whole number ``>= minimum``."""
    for name, value in values.items():
        if value is not None and value < minimum:
            raise UserError(f"--{name.replace('_', '-')} must be {minimum} or more, not {value}")


def _writable_parent(path: Path, flag: str) -> None:
    """The nearest existing folder above ``path`` must be a folder this process can write into."""
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{flag} {path}: {parent} is a file, not a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: cannot write into {parent} (read-only or not yours); choose another path")


def output_folder(path: Path | None, flag: str) -> None:
    """``path`` is, or can become, a writable folder."""
    if path is None:
        return
    if path.exists():
        if not path.is_dir():
            raise UserError(f"{flag} {path} is a file; give a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UserError(f"{flag} {path}: cannot write into it (read-only or not yours); choose another folder")
        return
    _writable_parent(path, flag)


def output_file(path: Path | None, flag: str) -> None:
    """``path`` is, or can become, a writable file (not a folder)."""
    if path is None:
        return
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; give a file name such as {path / 'out'}")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{flag} {path} is read-only; choose another file")
    _writable_parent(path, flag)
