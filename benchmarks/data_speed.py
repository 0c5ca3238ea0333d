"""Dataset loading and sampling speed: smac-bench's bulk load vs Minari's episode iterator.

    .venv/bin/python benchmarks/data_speed.py [cheetah-vel] [--repeats 3]

Each measurement runs in a fresh process that first does one untimed load (lazy imports, page
cache; its peak RSS above the process's baseline is the reported memory), then times a second.
Then it prints the multi-task buffer's sampling throughput (batches/s) for transition batches
and context batches over all training tasks at once. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _load_smac(dataset_id: str, out) -> None:
    import torch  # noqa: F401  (import cost is not load cost)

    from smac_bench.data import load_buffer, minari_io
    from smac_bench.data.buffer import MultiTaskBuffer  # noqa: F401

    base = _rss_mb()
    load_buffer(dataset_id)  # warm-up: lazy imports, page cache (the Minari side gets the same)
    peak = _rss_mb() - base  # the warm-up's peak: a cold load's memory
    t0 = time.perf_counter()
    arrays = minari_io.load_arrays(dataset_id)
    t_read = time.perf_counter() - t0
    del arrays
    t0 = time.perf_counter()
    buf = load_buffer(dataset_id)
    out.put((t_read, time.perf_counter() - t0, peak, len(buf)))


def _load_minari(dataset_id: str, out, warm: bool = True) -> None:
    import minari
    import numpy as np
    import torch

    from smac_bench.data.buffer import MultiTaskBuffer

    base = _rss_mb()
    if warm:
        _load_minari(dataset_id, mp.get_context("spawn").SimpleQueue(), warm=False)
    peak = _rss_mb() - base
    t0 = time.perf_counter()
    ds = minari.load_dataset(dataset_id)
    metas = ds.storage.get_episode_metadata(range(ds.total_episodes))
    obs, nxt, act, rew, term, tid = [], [], [], [], [], []
    for ep, meta in zip(ds.iterate_episodes(), metas, strict=True):
        obs.append(ep.observations[:-1])
        nxt.append(ep.observations[1:])
        act.append(ep.actions)
        rew.append(ep.rewards)
        term.append(ep.terminations)
        tid.append(np.full(len(ep.rewards), int(meta["options"]["task_id"])))
    cat = np.concatenate
    arrays = [cat(obs).astype(np.float32), cat(act), cat(rew)[:, None], cat(nxt).astype(np.float32),
              cat(term)[:, None], cat(tid)]
    t_read = time.perf_counter() - t0
    buf = MultiTaskBuffer.from_arrays(*arrays, device="cpu")
    del torch
    out.put((t_read, time.perf_counter() - t0, peak, len(buf)))


def _run(fn, dataset_id: str) -> tuple[float, float, float, int]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=fn, args=(dataset_id, q))
    p.start()
    result = q.get()
    p.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", default="cheetah-vel")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()

    import torch

    from smac_bench.data import load_buffer, resolve
    from smac_bench.harness.datasets import ensure_dataset

    dataset_id = resolve(args.name)
    ensure_dataset(dataset_id)
    rows = {}
    print(f"{dataset_id}: best of {args.repeats} fresh processes; read = flat float32 arrays, "
          "total = read + MultiTaskBuffer")
    for label, fn in (("smac-bench (layout index / h5py)", _load_smac),
                      ("minari iterate_episodes", _load_minari)):
        runs = [_run(fn, dataset_id) for _ in range(args.repeats)]
        read, total = min(r[0] for r in runs), min(r[1] for r in runs)
        rows[label] = (read, total)
        print(f"{label:34s} read {read * 1e3:7.1f} ms  total {total * 1e3:7.1f} ms  "
              f"peak +{max(r[2] for r in runs):6.1f} MB  {runs[0][3]} transitions")
    (r_smac, t_smac), (r_minari, t_minari) = rows.values()
    print(f"speed-up: read {r_minari / r_smac:.1f}x, total (incl. buffer build) {t_minari / t_smac:.1f}x")

    torch.set_num_threads(1)
    buf = load_buffer(dataset_id)
    tasks = torch.as_tensor(buf.task_ids)
    g = torch.Generator().manual_seed(0)
    for label, fn in (("sample", lambda: buf.sample(tasks, args.batch, g)),
                      ("sample_context", lambda: buf.sample_context(tasks, 100, g))):
        fn()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 2.0:
            fn()
            n += 1
        dt = time.perf_counter() - t0
        size = args.batch if label == "sample" else 100
        print(f"{label:15s} {n / dt:8.1f} batches/s  ({len(tasks)} tasks x {size} per batch, 1 thread)")


if __name__ == "__main__":
    main()
