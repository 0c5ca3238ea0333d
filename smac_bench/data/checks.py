"""Integrity checks of an installed dataset: checksums, task family, split, shapes, labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smac_bench.data import minari_io
from smac_bench.data.manifest import manifest_entry, sha256_file
from smac_bench.errors import UserError
from smac_bench.utils.io import atomic_write_json

LOCAL_BUILD_KEY = "local_build"
METADATA_REL = "data/metadata.json"
HDF5_REL = "data/main_data.hdf5"


@dataclass
class Report:
    """What ``verify`` found: ``ok`` lines (passed checks) and ``problems``."""

    dataset_id: str
    ok: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_family(dataset_id: str, meta: dict[str, Any]) -> None:
    """:class:`UserError` if the dataset at ``dataset_id``'s place was made for another family."""
    from smac_bench.data import family_of
    from smac_bench.envs import FAMILIES

    want = family_of(dataset_id)
    got = (meta.get("smac_bench") or {}).get("family")
    env_spec = str(meta.get("env_spec") or "")
    if got != want or (want in FAMILIES and FAMILIES[want].env_id not in env_spec):
        raise UserError(
            f"{minari_io.metadata_path(dataset_id)} holds a dataset for task family {got!r}, not {want!r} "
            f"(the files were copied into the wrong folder?): delete {minari_io.dataset_dir(dataset_id)} and "
            f"rebuild it with `smac-bench datasets build {dataset_id}`")


def verify(dataset_id: str, manifest_path: str | None = None, checksums: bool = True) -> Report:
    """Recompute checksums and check every episode against the task family.

    Checks: file sha256 against the manifest (when the dataset is published), the family in the
    metadata, every ``task_id`` a training task and equal to the per-step ``infos/task_id``,
    observation/action shapes equal to the env's spaces, step counts, finite numbers.
    """
    import h5py

    from smac_bench.data import family_of
    from smac_bench.envs import make_env, task_family

    rep = Report(dataset_id)
    folder = minari_io.dataset_dir(dataset_id)
    entry = manifest_entry(dataset_id, manifest_path) if checksums else None
    meta = minari_io.read_metadata(dataset_id)
    local = local_build(meta)
    if entry and entry.get("files"):
        pinned = {rel: want["sha256"] for rel, want in entry["files"].items()}
        if local:  # its metadata.json holds the local record, so nothing pins it
            pinned.pop(METADATA_REL, None)
            pinned.update(local["files"])
        bad = []
        for rel, sha in pinned.items():
            path = folder / rel
            if not path.is_file():
                bad.append(f"{path} is missing")
            elif sha256_file(path) != sha:
                source = ("the sha256 its local build recorded" if local and rel in local["files"]
                          else "its sha256 in the manifest")
                bad.append(f"{path} does not match {source} (modified or corrupt)")
        if bad:
            rep.problems += bad
        elif local:
            rep.ok.append(f"a local build: {len(local['files'])} files differ from the published build's bytes (this "
                          f"CPU rounds the behaviour policies' float32 arithmetic differently) and match the "
                          f"sha256 recorded when it was built; for numbers comparable with the reference runs, "
                          f"`smac-bench datasets download {dataset_id} --force`")
        else:
            rep.ok.append(f"sha256 of {len(entry['files'])} files matches the manifest")
    elif checksums:
        rep.ok.append("not in the manifest (built locally): checksum check skipped")
    try:
        check_family(dataset_id, meta)
        rep.ok.append(f"made for task family {family_of(dataset_id)}")
    except UserError as exc:
        rep.problems.append(str(exc))
        return rep
    fam = task_family(family_of(dataset_id))
    env = make_env(fam.name)
    obs_shape, act_shape = env.observation_space.shape, env.action_space.shape
    env.close()
    train = set(fam.train_ids)
    steps, tasks = 0, set()
    try:
        with h5py.File(minari_io.hdf5_path(dataset_id), "r") as f:
            n_eps = int(meta["total_episodes"])
            if len(f.keys()) != n_eps:
                rep.problems.append(f"HDF5 holds {len(f.keys())} episodes, metadata.json says {n_eps}")
            for i in range(n_eps):
                g = f[f"episode_{i}"]
                k, t = int(g.attrs["options/task_id"]), int(g.attrs["total_steps"])
                obs, act = g["observations"], g["actions"]
                if k not in train:
                    rep.problems.append(f"episode_{i} is on task {k}, which is not a training task of {fam.name}")
                if obs.shape != (t + 1, *obs_shape) or act.shape != (t, *act_shape):
                    rep.problems.append(f"episode_{i}: observations {obs.shape} / actions {act.shape} do not match "
                                        f"the env ({obs_shape} / {act_shape}) and {t} steps")
                info = g["infos/task_id"][()]
                if info.shape != (t + 1,) or not np.all(info == k):
                    rep.problems.append(f"episode_{i}: infos/task_id disagrees with options/task_id={k}")
                if not (np.isfinite(obs[()]).all() and np.isfinite(g["rewards"][()]).all()):
                    rep.problems.append(f"episode_{i} holds NaN or infinite numbers")
                steps += t
                tasks.add(k)
                if len(rep.problems) > 20:
                    rep.problems.append("... (stopped after 20 problems)")
                    return rep
    except (OSError, KeyError) as exc:
        rep.problems.append(f"{minari_io.hdf5_path(dataset_id)} is damaged ({exc})")
        return rep
    if steps != int(meta["total_steps"]):
        rep.problems.append(f"episodes hold {steps} steps, metadata.json says {meta['total_steps']}")
    if not rep.problems:
        rep.ok.append(f"{n_eps} episodes, {steps} steps on {len(tasks)} training tasks; shapes match the env")
    return rep


def _repair_hint(dataset_id: str) -> str:
    return (f"check it with `smac-bench datasets verify {dataset_id}` and rebuild it with "
            f"`smac-bench datasets build {dataset_id}` (or download it again with --force)")


def load_checked_arrays(dataset_id: str) -> dict[str, np.ndarray]:
    """:func:`minari_io.load_arrays` for training: the bytes and numbers are checked before any update.

    A published build (its ``metadata.json`` is the manifest's) must match the manifest's sha256
    byte for byte; any build must read cleanly and hold only finite numbers. Either failure is a
    :class:`UserError` naming the commands that repair it, instead of a torch error at the first
    evaluation after minutes of training on garbage.
    """
    entry = manifest_entry(dataset_id)
    folder = minari_io.dataset_dir(dataset_id)
    files = (entry or {}).get("files", {})
    local = local_build(minari_io.read_metadata(dataset_id))
    published = METADATA_REL in files and HDF5_REL in files
    want, source = None, ""
    if local and HDF5_REL in local["files"]:
        want, source = local["files"][HDF5_REL], "the sha256 its local build recorded"
    elif published and sha256_file(folder / METADATA_REL) == files[METADATA_REL]["sha256"]:
        want, source = files[HDF5_REL]["sha256"], "its sha256 in the manifest"
    if want and sha256_file(folder / HDF5_REL) != want:
        raise UserError(f"{folder / HDF5_REL} does not match {source} (corrupt or modified): "
                        f"{_repair_hint(dataset_id)}")
    try:
        arrays = minari_io.load_arrays(dataset_id)
    except (OSError, ValueError, KeyError) as exc:  # h5py raises all three on damaged files
        raise UserError(f"{dataset_id} cannot be read ({type(exc).__name__}: {str(exc)[:160]}): "
                        f"{_repair_hint(dataset_id)}") from None
    for name in ("obs", "next_obs", "actions", "rewards", "terminals"):
        if not np.isfinite(arrays[name]).all():
            raise UserError(f"{dataset_id} holds non-finite {name} (NaN or inf): {_repair_hint(dataset_id)}")
    return arrays


def local_build(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The local-build record in a dataset's metadata (:func:`record_local_build`), or ``None``."""
    block = (meta.get("smac_bench") or {}).get(LOCAL_BUILD_KEY)
    return block if isinstance(block, dict) and isinstance(block.get("files"), dict) else None


def record_local_build(dataset_id: str) -> dict[str, Any] | None:
    """After a standard build: mark it as this machine's where its bytes differ from the published build.

    The recipe fixes every seed, but the behaviour policies' float32 matrix products round differently on
    CPUs with other vector units, and a 200-step rollout grows one last-bit difference into another
    trajectory (measured: ``cheetah-vel/mixed-v0`` built on an AVX-512 Xeon gives returns of mean -149.2
    where the published build's are -150.1; ``MKL_CBWR`` alone changes them). Such a build is the recipe's
    data but not the published bytes: the files that differ get their own sha256 in ``metadata.json``,
    which holds the build to them from then on (a damaged file is still caught), and runs record that they
    trained on it. Call it on standard builds only (a custom build is not the published dataset at all).
    Returns that record, or ``None`` where the build is the published one or nothing is published.
    """
    entry = manifest_entry(dataset_id)
    files = (entry or {}).get("files", {})
    folder = minari_io.dataset_dir(dataset_id)
    differing = {rel: sha for rel, want in files.items() if rel != METADATA_REL and (folder / rel).is_file()
                 and (sha := sha256_file(folder / rel)) != want["sha256"]}
    if not differing:
        return None
    block = {"files": differing, "published_sha256": {rel: files[rel]["sha256"] for rel in differing},
             "why": "this CPU rounds the behaviour policies' float32 arithmetic differently from the "
                    "machine that built the published dataset"}
    meta = minari_io.read_metadata(dataset_id)
    meta.setdefault("smac_bench", {})[LOCAL_BUILD_KEY] = block
    atomic_write_json(folder / METADATA_REL, meta, indent=None)
    return block
