"""The verification ledger: ``<root>/verified.json``, written by ``smac-bench leaderboard verify`` alone.

A verdict inside a submission folder would be the submitter's word, so verdicts live outside
every submission, keyed by the sha256 of the exact ``submission.json`` they checked: editing a
submission after verification changes its key and drops its ✓. Render reads ✓ from here only.
The file is written atomically; each record says which machine re-ran the checkpoints, because
CPU models and thread counts change float results (the tolerance is stated in each record).
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import Any

from smac_bench.errors import UserError
from smac_bench.leaderboard import schema as S
from smac_bench.utils.io import atomic_write_json

LEDGER_FILE = "verified.json"
LEDGER_VERSION = 1
_SHA256 = re.compile(r"[0-9a-f]{64}")


def ledger_path(root: str | os.PathLike[str]) -> Path:
    return Path(root) / LEDGER_FILE


def read_ledger(root: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """``submission sha256 -> verdict record``; empty when there is no ledger yet.

    A ledger that is not what ``verify`` writes is a :class:`UserError` naming the file: it is
    the maintainers' file, so damage there must be seen, not silently read as "nothing verified".
    """
    path = ledger_path(root)
    if not os.path.lexists(path):
        return {}
    try:
        from smac_bench.leaderboard.validate import read_capped

        data = S.loads_strict(read_capped(path, S.MAX_LEDGER_BYTES, LEDGER_FILE), LEDGER_FILE)
    except S.SubmissionError as exc:
        raise UserError(f"{path} is damaged ({'; '.join(exc.problems)}): restore it from git") from None
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not all(
            _SHA256.fullmatch(str(k)) and isinstance(v, dict) for k, v in entries.items()):
        raise UserError(f"{path} is not a verification ledger (expected {{'entries': {{sha256: record}}}}): "
                        "restore it from git")
    return entries


def record_verdict(root: str | os.PathLike[str], submission_sha256: str, record: dict[str, Any]) -> Path:
    """Add or replace the verdict for one submission (atomic rewrite of the whole ledger)."""
    entries = read_ledger(root)
    entries[submission_sha256] = record
    path = ledger_path(root)
    atomic_write_json(path, {"schema_version": LEDGER_VERSION, "entries": dict(sorted(entries.items()))})
    return path


def machine_info(threads: int | None = None) -> dict[str, Any]:
    """Where a re-evaluation ran: CPU model, core count, torch threads, platform, versions."""
    import torch

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "torch_threads": threads or torch.get_num_threads(),
            "torch": torch.__version__, "platform": platform.platform(), "python": platform.python_version()}
