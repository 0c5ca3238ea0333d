"""``smac-bench leaderboard submit``: package harness run folders as a leaderboard submission.

Each run folder is what ``smac-bench evaluate --out RUN_DIR`` writes: ``config.json``,
``episodes.csv`` and (optionally) a checkpoint folder of safetensors + JSON. The submission is
assembled in a temporary sibling folder, validated, and only then renamed into place, so a
failed submit leaves nothing behind.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from smac_bench.errors import UserError
from smac_bench.leaderboard import schema as S
from smac_bench.leaderboard.validate import Entry, ManifestLookup, dataset_sha256, validate_submission
from smac_bench.utils.io import atomic_write_bytes, atomic_write_json

# Where a run folder keeps its final policy, smallest sufficient first: the harness writes
# checkpoints/<offline_end|online_end>/policy/ (what evaluation needs) beside the full agent/ folder.
_CHECKPOINT_DIRS = ("checkpoints/online_end/policy", "checkpoints/online_end/agent", "checkpoints/latest/agent",
                    "checkpoints/offline_end/policy", "checkpoints/offline_end/agent", "checkpoint", "agent")


@dataclass
class SubmissionInfo:
    """What the submitter declares; everything else is read from the run folders."""

    method: str
    authors: list[str]
    paper_url: str | None = None
    code_url: str | None = None
    hardware: str = ""
    compute_budget: dict[str, Any] = field(default_factory=dict)
    dataset_id: str | None = None
    notes: str | None = None
    include_checkpoints: bool = True


def slug(text: str) -> str:
    """A folder-safe version of a method name: ``"SMAC (ours)" -> "smac-ours"``."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out[:60] or "method"


def default_out(method: str, root: str | os.PathLike[str] = "leaderboard", today: _dt.date | None = None) -> Path:
    """``<root>/submissions/<YYYY-MM-DD>_<slug>``."""
    day = (today or _dt.date.today()).isoformat()
    return Path(root) / "submissions" / f"{day}_{slug(method)}"


def _find(config: Mapping[str, Any], *keys: str) -> Any:
    """First value under any of ``keys``, searching nested dicts breadth-first (config layouts vary)."""
    queue: list[Mapping[str, Any]] = [config]
    while queue:
        node = queue.pop(0)
        for key in keys:
            if key in node and node[key] not in (None, ""):
                return node[key]
        queue.extend(v for v in node.values() if isinstance(v, Mapping))
    return None


def _dataset_id(config: Mapping[str, Any]) -> str:
    value = _find(config, "dataset_id", "dataset")
    if isinstance(value, Mapping):  # {"id": ..., "sha256": ...} or {"name": ...}
        value = value.get("id") or value.get("name")
    return str(value) if value else "(unknown: pass --dataset)"


def find_checkpoint(run_dir: Path) -> Path | None:
    """The run's final checkpoint folder (holding ``*.safetensors``), or ``None``."""
    for name in _CHECKPOINT_DIRS:
        folder = run_dir / name
        if folder.is_dir() and any(folder.glob("*.safetensors")):
            return folder
    return None


def _read_run(run_dir: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    config_path, episodes_path = run_dir / "config.json", run_dir / "episodes.csv"
    if not config_path.is_file() or not episodes_path.is_file():
        raise UserError(f"{run_dir} is not a run folder: it needs config.json and episodes.csv "
                        "(written by `smac-bench evaluate --out`)")
    try:
        config = json.loads(config_path.read_text())
        episodes = pd.read_csv(episodes_path, dtype=str, keep_default_na=False)
    except RecursionError:
        raise UserError(f"{config_path} is nested too deeply to be a run config") from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise UserError(f"{run_dir}: cannot read config.json/episodes.csv ({str(exc)[:200]})") from None
    if not isinstance(config, dict):
        raise UserError(f"{config_path} must hold a JSON object")
    return config, episodes


def _read_own_file(path: Path) -> bytes:
    """A checkpoint file's bytes, refusing links: a link would copy a file outside the run into the submission."""
    if path.is_symlink() or not path.is_file() or path.stat().st_nlink > 1:
        raise UserError(f"{path} is a link or not a plain file; a submission copies only the run's own files")
    return path.read_bytes()


def _one(values: Sequence[str], what: str) -> str:
    distinct = sorted(set(values))
    if len(distinct) != 1:
        raise UserError(f"the runs disagree on {what}: {', '.join(distinct) or 'none'}; submit one method per entry")
    return distinct[0]


def build_submission(
    run_dirs: Sequence[str | os.PathLike[str]],
    info: SubmissionInfo,
    out: str | os.PathLike[str],
    *,
    validate: bool = True,
    today: _dt.date | None = None,
    manifest: ManifestLookup | None = None,
    **validate_kwargs: Any,
) -> Entry | None:
    """Write the submission folder ``out`` from ``run_dirs``; returns the validated entry.

    ``manifest`` looks up the dataset's sha256 (default: the data layer); it and
    ``validate_kwargs`` go on to :func:`validate_submission`.
    Raises :class:`UserError` when ``out`` exists or the result would be invalid.
    """
    out = Path(out)
    if out.exists():
        raise UserError(f"{out} already exists; pick another --out or remove it")
    runs = [Path(d) for d in run_dirs]
    if not runs:
        raise UserError("give at least one run folder")
    loaded = [_read_run(d) for d in runs]
    episodes = pd.concat([e for _, e in loaded], ignore_index=True)
    for column in ("seed", "algo", "env", "protocol"):
        if column not in episodes.columns:
            raise UserError(f"episodes.csv of the runs lacks column {column!r}")
    bad_seeds = sorted({s for s in episodes["seed"] if not S.SEED_TEXT.fullmatch(s) or int(s) >= 2**32})
    if bad_seeds:
        raise UserError(f"episodes.csv of the runs has seed(s) {', '.join(repr(s[:20]) for s in bad_seeds[:4])}; "
                        "seeds are whole numbers from 0 to 4294967295")
    seeds = sorted({int(s) for s in episodes["seed"]})
    if len(seeds) != len(runs):
        raise UserError(f"{len(runs)} run folders hold {len(seeds)} distinct seeds; give one run folder per seed")
    configs = [c for c, _ in loaded]
    dataset_id = info.dataset_id or _one([_dataset_id(c) for c in configs], "the dataset")
    local = [str(d) for d, c in zip(runs, configs, strict=True) if isinstance(c, Mapping) and c.get("dataset_build")]
    if local:
        raise UserError(f"{', '.join(local[:3])} trained on a local build of {dataset_id} whose bytes differ from the "
                        f"published one (config.json: dataset_build): download it (`smac-bench datasets download "
                        f"{dataset_id} --force`) and rerun those seeds")
    manifest = manifest or dataset_sha256
    sha = manifest(dataset_id) or _find(configs[0], "dataset_sha256")
    if not sha:
        raise UserError(f"no sha256 for dataset {dataset_id!r} in datasets/manifest.json; pass --dataset with a "
                        "published dataset id")
    commits = {str(c) for c in (_find(cf, "git_commit", "code_commit", "commit") for cf in configs) if c}
    versions = _find(configs[0], "package_versions", "packages", "versions") or {}
    meta: dict[str, Any] = {
        "schema_version": S.SCHEMA_VERSION,
        "method": info.method,
        "algo": _one(list(episodes["algo"]), "algo"),
        "env": _one(list(episodes["env"]), "env"),
        "protocol": _one(list(episodes["protocol"]), "the protocol"),
        "dataset": {"id": dataset_id, "sha256": str(sha)},
        "seeds": seeds,
        "authors": list(info.authors),
        "paper_url": info.paper_url,
        "code_url": info.code_url,
        "code_commit": commits.pop() if len(commits) == 1 else None,
        "package_versions": {str(k): str(v) for k, v in dict(versions).items() if v is not None},
        "hardware": info.hardware,
        "compute_budget": dict(info.compute_budget),
        "created": (today or _dt.date.today()).isoformat(),
    }
    if info.notes:
        meta["notes"] = info.notes

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; the published folder should be readable
    try:
        files: dict[str, bytes] = {S.EPISODES_FILE: episodes.to_csv(index=False).encode()}
        checkpoints: dict[str, str] = {}
        for run_dir, (config, run_episodes) in zip(runs, loaded, strict=True):
            seed = int(_one(list(run_episodes["seed"]), f"the seed inside {run_dir}"))
            files[f"configs/seed{seed}.json"] = (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()
            ckpt = find_checkpoint(run_dir) if info.include_checkpoints else None
            if ckpt is not None:
                checkpoints[str(seed)] = f"checkpoints/seed{seed}"
                for src in sorted(ckpt.iterdir()):
                    if src.suffix in (".safetensors", ".json") and S.SAFE_NAME.match(src.name):
                        files[f"checkpoints/seed{seed}/{src.name}"] = _read_own_file(src)
        for rel, data in files.items():
            atomic_write_bytes(tmp / rel, data)
        meta["files"] = {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(files.items())}
        if checkpoints:
            meta["checkpoints"] = checkpoints
        atomic_write_json(tmp / S.SUBMISSION_FILE, meta)
        try:
            entry = validate_submission(tmp, incoming=True, manifest=manifest, **validate_kwargs) if validate else None
        except S.SubmissionError as exc:
            raise S.SubmissionError(exc.problems, where=f"submission {out}") from None
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if entry is not None:
        entry.path = out
    return entry
