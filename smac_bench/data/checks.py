"""Integrity checks of an installed dataset: checksums, task family, split, shapes, labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smac_bench.data import minari_io
from smac_bench.data.manifest import manifest_entry, sha256_file
from smac_bench.errors import UserError


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
    if entry and entry.get("files"):
        bad = []
        for rel, want in entry["files"].items():
            path = folder / rel
            if not path.is_file():
                bad.append(f"{path} is missing")
            elif path.stat().st_size != want["size"] or sha256_file(path) != want["sha256"]:
                bad.append(f"{path} does not match its sha256 in the manifest (modified or corrupt)")
        if bad:
            rep.problems += bad
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
    published = "data/metadata.json" in files and "data/main_data.hdf5" in files
    if published and sha256_file(folder / "data/metadata.json") == files["data/metadata.json"]["sha256"]:
        if sha256_file(folder / "data/main_data.hdf5") != files["data/main_data.hdf5"]["sha256"]:
            raise UserError(f"{folder / 'data/main_data.hdf5'} does not match its sha256 in the manifest "
                            f"(corrupt or modified): {_repair_hint(dataset_id)}")
    try:
        arrays = minari_io.load_arrays(dataset_id)
    except (OSError, ValueError, KeyError) as exc:  # h5py raises all three on damaged files
        raise UserError(f"{dataset_id} cannot be read ({type(exc).__name__}: {str(exc)[:160]}): "
                        f"{_repair_hint(dataset_id)}") from None
    for name in ("obs", "next_obs", "actions", "rewards", "terminals"):
        if not np.isfinite(arrays[name]).all():
            raise UserError(f"{dataset_id} holds non-finite {name} (NaN or inf): {_repair_hint(dataset_id)}")
    return arrays
