"""Offline-phase training speed of SMAC at the ``paper`` sizes, and the fraction of matmul peak it reaches.

    python benchmarks/train_speed.py [--algo smac] [--preset paper] [--updates 200] [--device cpu] [--threads N]
                                     [--halves]

Prints updates/s, the FLOPs of one update (counted by ``torch.utils.flop_counter`` over every matmul
of the forward and backward passes), the FLOP rate that implies, and that rate as a fraction of
a large fp32 matmul's FLOP rate measured in the same process (the machine's practical peak).
Synthetic data with Cheetah-Vel's shapes (obs 17, act 6, 100 tasks); the numbers do not depend on it.

``OMP_WAIT_POLICY`` defaults to ``PASSIVE`` here (set it yourself to override): on a machine whose
cores are shared with other processes, spinning OpenMP workers at 2 threads were measured 5x slower.
On idle cores ``ACTIVE`` is the faster choice for 2 threads (measured, paper sizes, one session:
21.1 updates/s PASSIVE vs 24.5-28.8 ACTIVE; 1 thread 18.1). ``--halves`` runs the critic and actor
halves of each update on two threads with one torch thread each; in another session (noisier host):
24.8 updates/s, against 22.5 for 2 threads ACTIVE, 20.7 PASSIVE and 15.5 on 1 thread.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # must precede the torch import

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from smac_bench.algos import agent_config, make_agent  # noqa: E402
from smac_bench.data.buffer import MultiTaskBuffer  # noqa: E402


def synthetic_buffer(tasks: int, per_task: int, obs_dim: int, act_dim: int, device: str) -> MultiTaskBuffer:
    rng = np.random.default_rng(0)
    n = tasks * per_task
    return MultiTaskBuffer.from_arrays(
        rng.normal(size=(n, obs_dim)), rng.uniform(-1, 1, (n, act_dim)), rng.normal(size=(n, 1)),
        rng.normal(size=(n, obs_dim)), np.zeros((n, 1)), np.repeat(np.arange(tasks), per_task), device=device)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_peak(device: str, threads: int, n: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of an ``n x n`` fp32 matmul on ``threads`` torch threads over ``repeats`` timed batches."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _matmul_peak(device, n, repeats)
    finally:
        torch.set_num_threads(before)


def _matmul_peak(device: str, n: int, repeats: int) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best, inner = 0.0, 4 if device == "cpu" else 50
    for _ in range(repeats + 1):
        sync(device)
        t = time.perf_counter()
        for _ in range(inner):
            a @ b
        sync(device)
        best = max(best, 2 * n**3 * inner / (time.perf_counter() - t) / 1e9)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algo", default="smac")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="timed blocks of --updates; the best is reported")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--halves", action="store_true",
                        help="critic and actor halves of each update on two threads (SMAC/oracle; use --threads 1)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    obs_dim, act_dim = 17, 6
    buffer = synthetic_buffer(100, 2000, obs_dim, act_dim, args.device)
    agent = make_agent(args.algo, obs_dim, act_dim, agent_config(args.algo, args.preset), seed=0, device=args.device)
    agent.train_offline(buffer, args.warmup)
    with FlopCounterMode(display=False) as counter:  # thread-local: count on the serial path (same maths)
        agent.train_offline(buffer, 1)
    flops = counter.get_total_flops()
    if args.halves:
        agent.use_halves()
    # With --halves the update occupies two cores however many torch threads each half has.
    peak_threads = 2 * torch.get_num_threads() if args.halves else torch.get_num_threads()
    peak_before = matmul_peak(args.device, peak_threads)
    rates = []
    for _ in range(args.repeats):
        sync(args.device)
        t = time.perf_counter()
        agent.train_offline(buffer, args.updates)
        sync(args.device)
        rates.append(args.updates / (time.perf_counter() - t))
    peak = max(peak_before, matmul_peak(args.device, peak_threads))
    rate = max(rates)
    achieved = flops * rate / 1e9
    print(f"device={args.device} threads={torch.get_num_threads()} algo={args.algo} preset={args.preset} "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')} halves={args.halves}")
    print(f"updates/s            {rate:8.1f}   (blocks: {', '.join(f'{r:.1f}' for r in rates)})")
    print(f"GFLOP per update     {flops / 1e9:8.3f}")
    print(f"achieved GFLOP/s     {achieved:8.1f}")
    print(f"matmul peak GFLOP/s  {peak:8.1f}   (2048x2048 fp32, {peak_threads} threads)")
    print(f"fraction of peak     {achieved / peak:8.1%}")
    # No implementation of this update can beat the matmul peak: this bounds any speed-up target.
    print(f"updates/s at peak    {peak * 1e9 / flops:8.1f}   (these FLOPs at 100% of the matmul peak)")


if __name__ == "__main__":
    main()
