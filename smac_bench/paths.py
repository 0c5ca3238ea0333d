"""Where the shipped dataset files (manifest, behaviour snapshots) live.

In a source checkout (``pip install -e .``) that is the repository's ``datasets/`` folder; an
installed wheel carries a copy in ``smac_bench/_datasets`` (see ``setup.py``).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
REPO_ROOT = _PACKAGE.parent


def datasets_dir() -> Path:
    """The folder holding ``manifest.json`` and ``snapshots/``: the checkout's, else the wheel's."""
    checkout = REPO_ROOT / "datasets"
    return checkout if (checkout / "manifest.json").is_file() else _PACKAGE / "_datasets"
