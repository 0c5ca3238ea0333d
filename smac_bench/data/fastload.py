"""Fast bulk loading: a byte-layout index of Minari's HDF5 file, read with one sequential read.

Opening HDF5 objects dominates loading a Minari dataset: ~3,600 small datasets (6 per episode)
cost ~0.3 ms each to open, in h5py's high- or low-level API alike, while the data itself is a
few tens of MB read at disk speed. So when a dataset is written, we walk it once with h5py and
record where each episode's chunks lie in the file (``smac_bench_index.json`` beside
``main_data.hdf5``; Minari ignores it). Loading then reads the file into memory in one call and
copies every chunk into preallocated arrays with numpy: no HDF5 object is opened.

The index is trusted only if the file's size and a fingerprint of its first and last MiB
match, the layout is uncompressed chunks or contiguous, and the episode count agrees with
``metadata.json``; otherwise the caller falls back to reading through h5py.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
from pathlib import Path
from typing import Any

import numpy as np

INDEX_NAME = "smac_bench_index.json"
FIELDS = ("observations", "actions", "rewards", "terminations", "truncations")
FORMAT = 1


def fingerprint(path: Path) -> str:
    """sha256 of the first and last MiB and the size: cheap, catches a file swapped under the index."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        h.update(f.read(1 << 20))
    return h.hexdigest()


def _layout(dset) -> dict[str, Any] | None:
    """Shape, dtype and chunk byte offsets of one dataset; ``None`` if it is filtered (compressed)."""
    dsid = dset.id
    dcpl = dsid.get_create_plist()
    if dcpl.get_nfilters():
        return None
    info: dict[str, Any] = {"shape": list(dset.shape), "dtype": dset.dtype.str}
    offset = dsid.get_offset()
    if offset is not None:  # contiguous
        info["chunk"], info["pieces"] = list(dset.shape), [[int(offset)] + [0] * dset.ndim]
        return info
    info["chunk"] = list(dset.chunks)
    pieces = []
    for i in range(dsid.get_num_chunks()):
        c = dsid.get_chunk_info(i)
        if c.filter_mask:
            return None
        pieces.append([int(c.byte_offset), *map(int, c.chunk_offset)])
    info["pieces"] = pieces
    return info


def write_index(h5_path: Path, total_episodes: int) -> Path | None:
    """Record the byte layout of every episode next to ``h5_path``; ``None`` if it can't be indexed."""
    import h5py

    episodes = []
    with h5py.File(h5_path, "r") as f:
        for i in range(total_episodes):
            g = f[f"episode_{i}"]
            fields = {}
            for name in FIELDS:
                lay = _layout(g[name])
                if lay is None:
                    return None
                fields[name] = lay
            episodes.append({"task_id": int(g.attrs["options/task_id"]), "steps": int(g.attrs["total_steps"]),
                             "fields": fields})
    index = {"format": FORMAT, "file_size": h5_path.stat().st_size, "fingerprint": fingerprint(h5_path),
             "episodes": episodes}
    path = h5_path.with_name(INDEX_NAME)
    path.write_text(json.dumps(index, separators=(",", ":"), sort_keys=True))
    return path


def _assemble_into(out: np.ndarray, raw: np.ndarray, lay: dict[str, Any]) -> None:
    """Copy one dataset from its chunks into ``out`` (same shape; cast to ``out``'s dtype).

    Edge chunks are stored full size in the file; their padding is cut off here.
    """
    shape, chunk = tuple(lay["shape"]), tuple(lay["chunk"])
    dtype = np.dtype(lay["dtype"])
    nbytes = math.prod(chunk) * dtype.itemsize
    pieces = lay["pieces"]
    if len(pieces) == 1 and shape == chunk:  # the common case: one chunk holds it all
        out[...] = raw[pieces[0][0] : pieces[0][0] + nbytes].view(dtype).reshape(shape)
        return
    for off, *origin in pieces:
        block = raw[off : off + nbytes].view(dtype).reshape(chunk)
        dst = tuple(slice(o, min(o + c, s)) for o, c, s in zip(origin, chunk, shape, strict=True))
        out[dst] = block[tuple(slice(0, d.stop - d.start) for d in dst)]


def _gather(raw: np.ndarray, lays: list[dict[str, Any]], width: int, dtype: type) -> np.ndarray:
    """Every episode's copy of one field, concatenated along time: ``[sum of rows, width]`` of ``dtype``."""
    rows = [lay["shape"][0] for lay in lays]
    out = np.empty((sum(rows), width), dtype)
    r = 0
    for lay, n in zip(lays, rows, strict=True):
        _assemble_into(out[r : r + n].reshape(lay["shape"]), raw, lay)
        r += n
    return out


def load_with_index(h5_path: Path, total_episodes: int, total_steps: int) -> dict[str, np.ndarray] | None:
    """Flat transition arrays (see :func:`smac_bench.data.minari_io.load_arrays`) via the index.

    Returns ``None`` when there is no usable index (the caller then reads through h5py).
    """
    path = h5_path.with_name(INDEX_NAME)
    try:
        index = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    eps = index.get("episodes", [])
    if (index.get("format") != FORMAT or len(eps) != total_episodes or sum(e["steps"] for e in eps) != total_steps
            or index.get("file_size") != h5_path.stat().st_size or index.get("fingerprint") != fingerprint(h5_path)):
        return None
    steps = np.array([e["steps"] for e in eps], np.int64)
    try:
        obs_dim = eps[0]["fields"]["observations"]["shape"][1]
        act_dim = eps[0]["fields"]["actions"]["shape"][1]
        for e in eps:
            t, f = e["steps"], e["fields"]
            if f["observations"]["shape"] != [t + 1, obs_dim] or f["actions"]["shape"] != [t, act_dim]:
                return None
        # A read-only memory map seen as a plain ndarray (np.memmap's subclass hooks cost more than
        # the copies here): every chunk is copied once, straight into the float32 outputs.
        with open(h5_path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            out = _read_all(np.frombuffer(mm, dtype=np.uint8), eps, steps, obs_dim, act_dim)
    except (ValueError, KeyError, TypeError, IndexError):  # an index that does not fit the file: use h5py
        return None
    if any(len(v) != total_steps for v in out.values()):
        return None
    return out


def _read_all(raw: np.ndarray, eps: list[dict[str, Any]], steps: np.ndarray, obs_dim: int,
              act_dim: int) -> dict[str, np.ndarray]:
    """The flat arrays from the file's bytes ``raw`` (copies only: nothing may keep viewing ``raw``)."""
    field = {name: [e["fields"][name] for e in eps] for name in FIELDS}
    obs = _gather(raw, field["observations"], obs_dim, np.float32)  # [total_steps + episodes, obs_dim]
    last = np.cumsum(steps + 1) - 1  # row of each episode's final observation
    first = last - steps  # row of each episode's first observation
    not_last, not_first = np.ones(len(obs), bool), np.ones(len(obs), bool)
    not_last[last], not_first[first] = False, False
    return {
        "obs": obs[not_last],
        "next_obs": obs[not_first],
        "actions": _gather(raw, field["actions"], act_dim, np.float32),
        "rewards": _gather(raw, field["rewards"], 1, np.float32)[:, 0],
        "terminals": _gather(raw, field["terminations"], 1, np.float32)[:, 0],
        "truncations": _gather(raw, field["truncations"], 1, np.float32)[:, 0],
        "task_ids": np.repeat(np.array([e["task_id"] for e in eps], np.int64), steps),
        "episode": np.repeat(np.arange(len(eps), dtype=np.int64), steps),
    }
