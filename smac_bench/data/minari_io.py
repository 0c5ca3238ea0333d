"""Minari on-disk format of smac-bench datasets: where they live, writing, bulk reading, checks.

A dataset is a plain Minari dataset (``<root>/<dataset_id>/data/{metadata.json,main_data.hdf5}``,
``root = $MINARI_DATASETS_PATH`` or ``~/.minari/datasets``), so ``minari.load_dataset`` and
``minari show`` work unchanged. smac-bench adds:

* per episode: the reset option ``options/task_id`` (HDF5 attribute, Minari's own convention for
  reset options) and ``behaviour_policy``; per step: ``infos/task_id``;
* in ``metadata.json``: a ``smac_bench`` dict (family, split, recipe, seed, behaviour policy) and
  Minari's ``ref_min_score`` / ``ref_max_score`` / ``requirements``.

Reading goes straight to h5py, one contiguous array per field (Minari's iterator opens the file
once per episode and builds Python objects per episode; that is ~10-100x slower).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from smac_bench.errors import UserError

HDF5_NAME = "main_data.hdf5"
METADATA_NAME = "metadata.json"


class EpisodeLike(Protocol):
    """What :func:`write_dataset` needs of an episode (e.g. :class:`smac_bench.recipes.rollout.Episode`)."""

    task_id: int
    seed: int
    policy: int
    observations: Sequence[np.ndarray]
    actions: Sequence[np.ndarray]
    rewards: Sequence[float]
    terminations: Sequence[bool]
    truncations: Sequence[bool]


# ---------------------------------------------------------------------------------------- paths
def datasets_root() -> Path:
    """Minari's local dataset root (``$MINARI_DATASETS_PATH`` or ``~/.minari/datasets``)."""
    env = os.environ.get("MINARI_DATASETS_PATH")
    return Path(env) if env else Path.home() / ".minari" / "datasets"


def dataset_dir(dataset_id: str) -> Path:
    """``<root>/<dataset_id>``: the folder Minari keeps a dataset in."""
    return datasets_root() / dataset_id


def hdf5_path(dataset_id: str) -> Path:
    return dataset_dir(dataset_id) / "data" / HDF5_NAME


def metadata_path(dataset_id: str) -> Path:
    return dataset_dir(dataset_id) / "data" / METADATA_NAME


def is_installed(dataset_id: str) -> bool:
    """Both files of the dataset exist locally (says nothing about their integrity)."""
    return hdf5_path(dataset_id).is_file() and metadata_path(dataset_id).is_file()


def _fix_hint(dataset_id: str) -> str:
    return (f"rebuild it with `smac-bench datasets build {dataset_id}` or fetch it with "
            f"`smac-bench datasets download {dataset_id}`")


@contextlib.contextmanager
def minari_root(path: str | os.PathLike[str]) -> Iterator[None]:
    """Temporarily point Minari at another dataset root (Minari reads only the env var)."""
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def ensure_namespace(dataset_id: str) -> None:
    """Create the Minari namespace of ``dataset_id`` (e.g. ``smac-bench/cheetah-vel``) if missing."""
    from minari.dataset.minari_dataset import parse_dataset_id
    from minari.namespace import create_namespace, list_local_namespaces

    namespace = parse_dataset_id(dataset_id)[0]
    if namespace and namespace not in list_local_namespaces():
        create_namespace(namespace)


def install_dir(staged: Path, dataset_id: str) -> None:
    """Move a complete dataset folder ``staged`` to its place, replacing any old copy.

    The new folder is renamed in whole (same filesystem), so readers never see half a dataset;
    an old copy is first renamed aside and deleted only after the new one is in place.
    """
    final = dataset_dir(dataset_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    ensure_namespace(dataset_id)
    old = None
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=".old-", dir=final.parent)) / "dataset"
        os.replace(final, old)
    try:
        os.replace(staged, final)
    except BaseException:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old.parent, ignore_errors=True)


def staging_dir() -> Path:
    """A fresh temporary folder inside the dataset root (same filesystem as the final place)."""
    root = datasets_root()
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=root))


# ---------------------------------------------------------------------------------------- writing
def write_dataset(
    dataset_id: str,
    env_id: str,
    episodes: Sequence[EpisodeLike],
    *,
    description: str,
    algorithm_name: str,
    ref_min_score: float,
    ref_max_score: float,
    requirements: list[str],
    smac_bench_meta: dict[str, Any],
    eval_split: str | None = None,
) -> Path:
    """Write ``episodes`` as Minari dataset ``dataset_id`` and install it atomically.

    ``eval_split="test"`` records the eval env spec with the family's held-out tasks fixed at
    construction, so ``dataset.recover_environment(eval_env=True)`` evaluates where the benchmark
    does (``None``: the same spec as the data env, as versions before 1 were built).

    The dataset is created with :func:`minari.create_dataset_from_buffers` under a staging root
    and then renamed into place, so a crash mid-write never leaves a half dataset. Returns the
    installed folder.
    """
    import minari
    from minari.data_collector import EpisodeBuffer

    buffers = [
        EpisodeBuffer(
            id=i,
            seed=int(ep.seed),
            options={"task_id": int(ep.task_id)},
            observations=np.asarray(ep.observations),
            actions=np.asarray(ep.actions, dtype=np.float32),
            rewards=np.asarray(ep.rewards, dtype=np.float64),
            terminations=np.asarray(ep.terminations, dtype=bool),
            truncations=np.asarray(ep.truncations, dtype=bool),
            # one entry for the reset info and one per step, like Minari's DataCollector
            infos={"task_id": np.full(len(ep.rewards) + 1, int(ep.task_id), dtype=np.int64)},
        )
        for i, ep in enumerate(episodes)
    ]
    stage = staging_dir()
    try:
        with minari_root(stage), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Minari warns about optional fields and gym spaces
            minari.create_dataset_from_buffers(
                dataset_id, buffers, env=env_id, eval_env=_eval_spec(env_id, eval_split),
                algorithm_name=algorithm_name,
                author="smac-bench contributors",  # no code_permalink: Minari renders it as a URL
                ref_min_score=float(ref_min_score), ref_max_score=float(ref_max_score),
                description=description, requirements=requirements, data_format="hdf5",
            )
        _write_extras(stage / dataset_id, episodes, smac_bench_meta)
        install_dir(stage / dataset_id, dataset_id)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return dataset_dir(dataset_id)


def _eval_spec(env_id: str, split: str | None) -> Any:
    """The Gymnasium spec evaluation uses: ``env_id`` with ``split`` fixed (see :class:`MetaTaskMixin`)."""
    if split is None:
        return env_id
    import dataclasses

    import gymnasium

    spec = gymnasium.spec(env_id)
    return dataclasses.replace(spec, kwargs={**spec.kwargs, "split": split})


def _write_extras(folder: Path, episodes: Sequence[EpisodeLike], meta: dict[str, Any]) -> None:
    """Add per-episode ``behaviour_policy`` attributes and the ``smac_bench`` metadata block."""
    import h5py

    from smac_bench.data.fastload import write_index

    with h5py.File(folder / "data" / HDF5_NAME, "a") as f:
        for i, ep in enumerate(episodes):
            f[f"episode_{i}"].attrs["behaviour_policy"] = int(ep.policy)
    write_index(folder / "data" / HDF5_NAME, len(episodes))  # last: it records the final byte layout
    path = folder / "data" / METADATA_NAME
    data = json.loads(path.read_text())
    data["smac_bench"] = meta
    data["dataset_size"] = round(sum(p.stat().st_size for p in (folder / "data").iterdir()) / 1e6, 1)
    path.write_text(json.dumps(data))


# ---------------------------------------------------------------------------------------- reading
def read_metadata(dataset_id: str) -> dict[str, Any]:
    """The raw ``metadata.json`` of an installed dataset; :class:`UserError` if missing or corrupt."""
    path = metadata_path(dataset_id)
    if not path.is_file():
        raise UserError(f"dataset {dataset_id} is not installed ({path} is missing): {_fix_hint(dataset_id)}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is corrupt ({exc}): {_fix_hint(dataset_id)}") from None


def _open_hdf5(dataset_id: str):
    import h5py

    path = hdf5_path(dataset_id)
    if not path.is_file():
        raise UserError(f"dataset {dataset_id} is incomplete ({path} is missing): {_fix_hint(dataset_id)}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise UserError(f"{path} is truncated or not an HDF5 file ({exc}): {_fix_hint(dataset_id)}") from None


def load_arrays(dataset_id: str) -> dict[str, np.ndarray]:
    """Every transition of a dataset as flat arrays, in episode order.

    Keys: ``obs``, ``actions``, ``rewards``, ``next_obs``, ``terminals``, ``truncations``
    (float32; rewards/terminals shaped ``[N]``), ``task_ids`` and ``episode`` (int64).
    With the byte-layout index smac-bench writes (:mod:`smac_bench.data.fastload`) the file is
    read in one call and no HDF5 object is opened; otherwise each field is read once per
    episode through h5py straight into preallocated arrays (no Minari objects).
    """
    from smac_bench.data.fastload import load_with_index

    meta = read_metadata(dataset_id)
    n_eps, n = int(meta["total_episodes"]), int(meta["total_steps"])
    path = hdf5_path(dataset_id)
    if path.is_file():
        fast = load_with_index(path, n_eps, n)
        if fast is not None:
            return fast
    try:
        with _open_hdf5(dataset_id) as f:
            first = f["episode_0"]
            obs_dim, act_dim = first["observations"].shape[1], first["actions"].shape[1]
            out = {
                "obs": np.empty((n, obs_dim), np.float32),
                "next_obs": np.empty((n, obs_dim), np.float32),
                "actions": np.empty((n, act_dim), np.float32),
                "rewards": np.empty(n, np.float32),
                "terminals": np.empty(n, np.float32),
                "truncations": np.empty(n, np.float32),
                "task_ids": np.empty(n, np.int64),
                "episode": np.empty(n, np.int64),
            }
            off = 0
            for i in range(n_eps):
                g = f[f"episode_{i}"]
                t = int(g.attrs["total_steps"])
                if off + t > n:
                    raise ValueError(f"episode_{i} runs past total_steps={n} of metadata.json")
                o = g["observations"][()]  # [t + 1, obs_dim]; split into obs / next_obs below
                if o.shape != (t + 1, obs_dim):
                    raise ValueError(f"episode_{i}/observations has shape {o.shape}, expected {(t + 1, obs_dim)}")
                sl = slice(off, off + t)
                out["obs"][sl], out["next_obs"][sl] = o[:-1], o[1:]
                g["actions"].read_direct(out["actions"], dest_sel=np.s_[off : off + t])
                out["rewards"][sl] = g["rewards"][()]
                out["terminals"][sl] = g["terminations"][()]
                out["truncations"][sl] = g["truncations"][()]
                out["task_ids"][sl] = int(g.attrs["options/task_id"])
                out["episode"][sl] = i
                off += t
            if off != n:
                raise ValueError(f"episodes hold {off} steps but metadata.json says {n}")
    except UserError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise UserError(f"{hdf5_path(dataset_id)} is damaged ({exc}): {_fix_hint(dataset_id)}") from None
    return out


def episode_table(dataset_id: str) -> list[dict[str, Any]]:
    """Per-episode ``{"task_id", "length", "return", "policy", "seed"}`` (for cards and checks)."""
    rows = []
    with _open_hdf5(dataset_id) as f:
        for i in range(int(read_metadata(dataset_id)["total_episodes"])):
            g = f[f"episode_{i}"]
            rows.append({"task_id": int(g.attrs["options/task_id"]), "length": int(g.attrs["total_steps"]),
                         "return": float(np.sum(g["rewards"][()])), "policy": int(g.attrs.get("behaviour_policy", -2)),
                         "seed": int(g.attrs["seed"])})
    return rows
