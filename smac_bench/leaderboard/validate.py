"""``smac-bench leaderboard validate``: check a submission folder and recompute its aggregates.

The folder is treated as hostile input: names are whitelisted, symlinks and special files are
refused, sizes are capped before reading, JSON is parsed strictly, checkpoints are only ever
read as safetensors headers (never unpickled) and no submitted code is run. Validation writes
nothing. Every aggregate comes from the raw episode rows; submission.json carries none, and the
parts must agree with each other (:mod:`~smac_bench.leaderboard.crosscheck`).
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from smac_bench.leaderboard import crosscheck
from smac_bench.leaderboard import schema as S
from smac_bench.leaderboard.aggregate import iqm, normalise, stratified_bootstrap_ci
from smac_bench.leaderboard.episodes import FinalEvaluation, check_episodes, parse_episodes
from smac_bench.leaderboard.schema import SubmissionError

_PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt", ".npy", ".npz", ".joblib")
_SAFETENSORS_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
                       "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}

ManifestLookup = Callable[[str], "str | None"]
ReferenceLookup = Callable[[str], "tuple[float, float] | None"]


@dataclass
class Entry:
    """A validated submission with aggregates recomputed from its episodes.

    ``scores`` is the ``[num_seeds, num_tasks]`` matrix the IQM/CI are computed from:
    normalised with the dataset's reference scores when ``normalised`` is true, raw returns otherwise.
    """

    path: Path
    meta: dict[str, Any]
    final: FinalEvaluation
    scores: np.ndarray
    normalised: bool
    iqm: float
    ci: tuple[float, float]
    mean: float
    submission_sha256: str
    verification: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """True when the ledger's verdict for exactly this submission.json says the scores agree."""
        return bool(self.verification and self.verification.get("verified") is True)

    def summary(self) -> dict[str, Any]:
        """The recomputed numbers, as printed by the CLI and used by render."""
        return {
            "method": self.meta["method"], "env": self.meta["env"], "dataset": self.meta["dataset"]["id"],
            "seeds": len(self.final.seeds), "tasks": len(self.final.task_ids), "runs": self.final.num_runs,
            "final": f"{self.final.phase} step {self.final.train_step}", "normalised": self.normalised,
            "iqm": self.iqm, "ci95": list(self.ci), "mean": self.mean,
            "success_rate": self.final.success_rate, "verified": self.verified,
        }


def read_capped(path: Path, cap: int, what: str) -> bytes:
    """Read a regular file of at most ``cap`` bytes without following a symlink at ``path``."""
    # O_NONBLOCK: opening a FIFO swapped in after the scan must not hang the validator.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise SubmissionError([f"{what}: cannot open ({exc.strerror})"]) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise SubmissionError([f"{what} is not a regular file"])
        if st.st_size > cap:
            raise SubmissionError([f"{what} is {st.st_size} bytes, over the {cap}-byte limit"])
        data = f.read(cap + 1)
    if len(data) > cap:  # grew while reading
        raise SubmissionError([f"{what} is over the {cap}-byte limit"])
    return data


def _cap_for(rel: str) -> int:
    if rel == S.EPISODES_FILE:
        return S.MAX_EPISODES_BYTES
    if rel.startswith("checkpoints/") and rel.endswith(".safetensors"):
        return S.MAX_CHECKPOINT_FILE_BYTES
    if rel.startswith("configs/") or rel.startswith("checkpoints/"):
        return S.MAX_CONFIG_BYTES
    return S.MAX_README_BYTES if rel == S.README_FILE else S.MAX_JSON_BYTES


def scan_folder(root: Path) -> dict[str, int]:
    """Relative path -> size of every file, enforcing names, depth, counts, caps and no links."""
    try:
        st = os.lstat(root)
    except OSError:
        raise SubmissionError([f"{root} does not exist"], where=str(root)) from None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise SubmissionError([f"{root} must be a real directory (not a symlink or file)"], where=str(root))
    files: dict[str, int] = {}
    problems: list[str] = []
    total = 0
    stack: list[tuple[Path, str, int]] = [(root, "", 0)]
    while stack:
        folder, prefix, depth = stack.pop()
        with os.scandir(folder) as it:
            for entry in sorted(it, key=lambda e: e.name):
                rel = prefix + entry.name
                shown = rel.encode("ascii", "backslashreplace").decode()[:120]
                if not S.SAFE_NAME.match(entry.name):
                    problems.append(f"unsafe file name {shown!r} (letters, digits, '.', '_', '-' only; "
                                    "no leading dot, no '..')")
                    continue
                if entry.is_symlink():
                    problems.append(f"{shown} is a symlink; submissions must contain plain files only")
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if depth + 1 >= S.MAX_DEPTH:
                        problems.append(f"{shown} is nested too deeply")
                    else:
                        stack.append((Path(entry.path), rel + "/", depth + 1))
                    continue
                if not entry.is_file(follow_symlinks=False):
                    problems.append(f"{shown} is not a regular file")
                    continue
                st = entry.stat(follow_symlinks=False)
                if st.st_nlink > 1:  # a hard link shares its bytes with a file outside the folder
                    problems.append(f"{shown} is hard-linked ({st.st_nlink} links); submit plain copies")
                    continue
                size = st.st_size
                cap = _cap_for(rel)
                if size > cap:
                    problems.append(f"{shown} is {size} bytes, over the {cap}-byte limit")
                total += size
                files[rel] = size
                if len(files) > S.MAX_FILES:
                    raise SubmissionError([f"more than {S.MAX_FILES} files"])
    if total > S.MAX_TOTAL_BYTES:
        problems.append(f"the submission holds {total} bytes, over the {S.MAX_TOTAL_BYTES}-byte limit")
    for rel in files:
        if rel in S.ROOT_FILES or S.CONFIG_PATH.match(rel) or S.CHECKPOINT_PATH.match(rel):
            continue
        if rel == S.VERIFICATION_FILE:
            problems.append("verification.json is not part of a submission: verdicts live in the maintainers' "
                            "ledger leaderboard/verified.json, written by `smac-bench leaderboard verify`")
        elif rel.lower().endswith(_PICKLE_SUFFIXES):
            problems.append(f"{rel}: pickle-based checkpoints are not accepted (loading them runs code); "
                            "save tensors with safetensors")
        else:
            problems.append(f"unexpected file {rel} (allowed: submission.json, episodes.csv, README.md, "
                            "configs/seed<N>.json, checkpoints/seed<N>/*.safetensors|*.json)")
    if problems:
        raise SubmissionError(problems)
    return files


def check_safetensors(data: bytes, what: str) -> list[str]:
    """Problems with a safetensors file, from its header alone (nothing is deserialised)."""
    if data.startswith(S.PICKLE_MAGIC):
        return [f"{what} is a pickle/torch-zip file, not safetensors (loading it would run code)"]
    if len(data) < 8:
        return [f"{what} is too short to be safetensors"]
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(len(data) - 8, 100 * 1024 * 1024):
        return [f"{what} has a safetensors header length {n} beyond the file"]
    try:
        header = S.loads_strict(data[8:8 + n], f"{what} header")
    except SubmissionError as exc:
        return exc.problems
    body = len(data) - 8 - n
    if not isinstance(header, dict):
        return [f"{what} header is not a JSON object"]
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        ok = (isinstance(spec, dict) and spec.get("dtype") in _SAFETENSORS_DTYPES
              and isinstance(spec.get("shape"), list) and len(spec["shape"]) <= 8
              and all(type(d) is int and 0 <= d <= S.MAX_TENSOR_DIM for d in spec["shape"])
              and isinstance(spec.get("data_offsets"), list) and len(spec["data_offsets"]) == 2
              and all(type(o) is int for o in spec["data_offsets"]))
        if not ok:
            return [f"{what}: tensor {str(name)[:60]!r} has a malformed header entry"]
        begin, end = spec["data_offsets"]
        size = _SAFETENSORS_DTYPES[spec["dtype"]] * math.prod(spec["shape"])
        if not 0 <= begin <= end <= body or end - begin != size:
            return [f"{what}: tensor {str(name)[:60]!r} has offsets outside the data or the wrong size"]
    return []


def dataset_sha256(dataset_id: str) -> str | None:
    """sha256 of a published dataset from the trusted ``datasets/manifest.json`` (``None``: unknown)."""
    try:
        from smac_bench.data.manifest import manifest_entry

        entry = manifest_entry(dataset_id)
    except ImportError:  # older tree without the manifest module
        return None
    return str(entry["sha256"]) if isinstance(entry, dict) and entry.get("sha256") else None


def reference_scores(dataset_id: str) -> tuple[float, float] | None:
    """``(min, max)`` reference returns for normalisation, ``None`` when the data layer has none."""
    try:
        from smac_bench.data import reference_scores as lookup  # type: ignore[attr-defined]

        low, high = lookup(dataset_id)
        return float(low), float(high)
    except Exception:  # missing function or unknown id: fall back to raw returns
        return None


def _offline_end_step(episodes: Any) -> int | None:
    """The last offline evaluation's training step (``episodes``: a DataFrame); ``None`` without offline rows."""
    offline = episodes.loc[episodes["phase"] == "offline", "train_step"]
    return int(offline.max()) if len(offline) else None


def _protocol_runs() -> int | None:
    try:
        from smac_bench.harness.protocol import ProtocolV1

        return ProtocolV1().num_runs
    except ImportError:
        return None


def validate_submission(
    path: str | os.PathLike[str],
    *,
    manifest: ManifestLookup | None = None,
    reference: ReferenceLookup | None = None,
    incoming: bool = False,
) -> Entry:
    """Validate the folder at ``path``; returns the :class:`Entry` or raises :class:`SubmissionError`.

    ``manifest`` / ``reference`` look up a dataset's sha256 and reference scores (defaults: the
    data layer). ``incoming`` is kept for callers of the old API; every folder is checked alike.
    """
    root = Path(path)
    try:
        return _validate(root, manifest or dataset_sha256, reference or reference_scores)
    except SubmissionError as exc:
        raise SubmissionError(exc.problems, where=f"submission {root}") from None


def _validate(root: Path, manifest: ManifestLookup, reference: ReferenceLookup) -> Entry:
    files = scan_folder(root)
    if S.SUBMISSION_FILE not in files or S.EPISODES_FILE not in files:
        raise SubmissionError(["a submission needs submission.json and episodes.csv"])
    raw_meta = read_capped(root / S.SUBMISSION_FILE, S.MAX_JSON_BYTES, S.SUBMISSION_FILE)
    meta = S.loads_strict(raw_meta, S.SUBMISSION_FILE)
    problems = S.schema_problems(meta) or crosscheck.meta_problems(meta)
    if problems:
        raise SubmissionError(problems)
    if meta["protocol"] not in S.ACCEPTED_PROTOCOLS:
        problems.append(f"protocol {meta['protocol']!r} is not accepted: the leaderboard compares protocol "
                        f"{' / '.join(S.ACCEPTED_PROTOCOLS)} at paper values only")
    if len(meta["seeds"]) < S.MIN_SEEDS:
        problems.append(f"{len(meta['seeds'])} seed(s); the leaderboard needs at least {S.MIN_SEEDS}")
    want_sha = manifest(meta["dataset"]["id"])
    if want_sha is None:
        problems.append(f"dataset {meta['dataset']['id']!r} is not in datasets/manifest.json")
    elif want_sha != meta["dataset"]["sha256"]:
        problems.append(f"dataset sha256 {meta['dataset']['sha256'][:12]}... does not match the manifest's "
                        f"{str(want_sha)[:12]}... for {meta['dataset']['id']}: evaluate on the published dataset")
    try:
        from smac_bench import task_family

        family = task_family(meta["env"])
    except ValueError as exc:
        raise SubmissionError([*problems, str(exc)]) from None
    problems += _check_listing(root, files, meta)
    if problems:
        raise SubmissionError(problems)

    episodes = parse_episodes(read_capped(root / S.EPISODES_FILE, S.MAX_EPISODES_BYTES, S.EPISODES_FILE))
    final = check_episodes(
        episodes, protocol=meta["protocol"], algo=meta["algo"], env=meta["env"], seeds=meta["seeds"],
        train_ids=family.train_ids, test_ids=family.test_ids, num_runs=_protocol_runs(),
    )
    problems = (crosscheck.return_problems(episodes, meta["env"], family.max_episode_steps)
                + crosscheck.budget_problems(meta, final.phase, final.train_step, _offline_end_step(episodes)))
    if problems:
        raise SubmissionError(problems)
    ref = reference(meta["dataset"]["id"])
    warnings = [] if ref is not None else [f"no reference scores for {meta['dataset']['id']}: ranked by raw return"]
    try:
        scores = normalise(final.returns, ref)
    except ValueError as exc:
        raise SubmissionError([str(exc)]) from None
    if not np.isfinite(scores).all():
        raise SubmissionError(["the normalised scores are not finite: check the dataset's reference scores"])
    return Entry(
        path=root, meta=meta, final=final, scores=scores, normalised=ref is not None,
        iqm=float(iqm(scores)), ci=stratified_bootstrap_ci(scores), mean=float(scores.mean()),
        submission_sha256=hashlib.sha256(raw_meta).hexdigest(), warnings=warnings,
    )


def _check_listing(root: Path, files: dict[str, int], meta: dict[str, Any]) -> list[str]:
    """The files listed in submission.json are exactly those present, with matching sha256."""
    problems: list[str] = []
    present = {rel for rel in files if rel != S.SUBMISSION_FILE}
    listed = set(meta["files"])
    if present - listed:
        problems.append(f"files not listed in submission.json: {', '.join(sorted(present - listed)[:8])}")
    if listed - present:
        problems.append(f"files listed in submission.json but absent: {', '.join(sorted(listed - present)[:8])}")
    seeds = set(meta["seeds"])
    config_seeds = {int(m.group(1)) for rel in present if (m := S.CONFIG_PATH.match(rel))}
    if config_seeds != seeds:
        problems.append(f"configs/seed<N>.json must exist for exactly the seeds {sorted(seeds)}; "
                        f"found {sorted(config_seeds)}")
    ckpt_dirs = {rel.rsplit("/", 1)[0] for rel in present if rel.startswith("checkpoints/")}
    declared = meta.get("checkpoints", {})
    if set(declared.values()) != ckpt_dirs:
        problems.append("submission.json 'checkpoints' must name exactly the checkpoints/seed<N> folders present")
    for seed, folder in declared.items():
        if folder != f"checkpoints/seed{int(seed)}" or int(seed) not in seeds:
            problems.append(f"checkpoint {folder} does not belong to a submitted seed {seed}")
        elif not any(r.startswith(folder + "/") and r.endswith(".safetensors") for r in present):
            problems.append(f"{folder} has no .safetensors file")
    configs: dict[int, dict[str, Any]] = {}
    for rel in sorted(present & listed):
        data = read_capped(root / rel, _cap_for(rel), rel)
        if hashlib.sha256(data).hexdigest() != meta["files"][rel]:
            problems.append(f"{rel} does not match its sha256 in submission.json")
        if rel.endswith(".safetensors"):
            problems += check_safetensors(data, rel)
        elif rel.endswith(".json"):
            try:
                value = S.loads_strict(data, rel)
            except SubmissionError as exc:
                problems += exc.problems
                continue
            if not isinstance(value, dict):
                problems.append(f"{rel} must hold a JSON object")
            elif m := S.CONFIG_PATH.match(rel):
                configs[int(m.group(1))] = value
    if not problems and configs:
        problems += crosscheck.config_problems(configs, meta)
    return problems
