"""``datasets/manifest.json``: the trusted list of published datasets, their archives and checksums.

Shape::

    {"format": 1,
     "datasets": {"smac-bench/cheetah-vel/mixed-v0": {
         "name": "cheetah-vel", "family": "cheetah-vel", "version": 0,
         "archive": "smac-bench--cheetah-vel--mixed-v0.tar.gz", "archive_size": 123, "sha256": "...",
         "files": {"data/main_data.hdf5": {"size": 1, "sha256": "..."}, "data/metadata.json": {...}},
         "total_episodes": 600, "total_steps": 120000}}}

The copy shipped in the repository is what downloads are checked against (a mirror's own copy
is never trusted); ``publish`` writes the same entry next to the archive for the mirror.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from smac_bench.errors import UserError
from smac_bench.paths import datasets_dir
from smac_bench.utils.io import atomic_write_json

FORMAT = 1


def default_manifest_path() -> Path:
    """``$SMAC_BENCH_MANIFEST`` or the shipped ``datasets/manifest.json``."""
    return Path(os.environ.get("SMAC_BENCH_MANIFEST") or datasets_dir() / "manifest.json")


def read_manifest(path: str | Path | None = None) -> dict[str, Any]:
    """The manifest (an empty one if the file does not exist yet)."""
    path = Path(path or default_manifest_path())
    if not path.exists():
        return {"format": FORMAT, "datasets": {}}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc}): restore it with `git checkout {path}`") from None
    if data.get("format") != FORMAT or not isinstance(data.get("datasets"), dict):
        raise UserError(f"{path} is not a smac-bench manifest (format {FORMAT}): restore it from git")
    return data


def manifest_entry(dataset_id: str, path: str | Path | None = None) -> dict[str, Any] | None:
    """The manifest entry of ``dataset_id``, or ``None`` if it was never published."""
    return read_manifest(path)["datasets"].get(dataset_id)


def update_manifest(dataset_id: str, entry: dict[str, Any], path: str | Path | None = None) -> Path:
    """Insert or replace one entry, keeping the others (atomic write)."""
    path = Path(path or default_manifest_path())
    data = read_manifest(path)
    data["datasets"][dataset_id] = entry
    atomic_write_json(path, data)
    return path


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_checksums(folder: str | Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"size", "sha256"}}`` of every file under a dataset folder."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": sha256_file(p)}
            for p in sorted(folder.rglob("*")) if p.is_file()}
