"""SMAC on sawyer-manip v1 with one departure from the faithful config at a time (issue #18 item 5).

Each variant is a full run (the AWAC weights and the encoder change the offline phase) at the ``quick``
schedule, written to ``baselines/sawyer-manip-remedies/<variant>/smac-sawyer-manip-seed<N>``; the faithful
run of the same seed is ``faithful``. Resumable: a rerun continues unfinished runs.

    python baselines/sawyer-manip-remedies/measure.py VARIANT [SEED ...] [--preset standard]

Other presets than ``quick`` write to ``<variant>-<preset>/``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from smac_bench.algos import agent_config
from smac_bench.harness.config import RunConfig, schedule_preset
from smac_bench.harness.run import run_experiment

HERE = Path(__file__).parent
VARIANTS: dict[str, dict[str, object]] = {
    "faithful": {},
    "whiten-beta1": {"awac_whiten": True, "awac_beta": 1.0},
    "whiten-beta1-kl0.01": {"awac_whiten": True, "awac_beta": 1.0, "kl_weight": 0.01},
    "beta1": {"awac_beta": 1.0},
    "bernoulli-kl0.001": {"decoder_loss": "bernoulli", "kl_weight": 0.001},
    "whiten-beta1-bernoulli-kl0.001": {"awac_whiten": True, "awac_beta": 1.0, "decoder_loss": "bernoulli",
                                       "kl_weight": 0.001},
}


def main(variant: str, seeds: list[int], preset: str = "quick") -> None:
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    config = dataclasses.replace(agent_config("smac", preset), **VARIANTS[variant])
    for seed in seeds:
        out = HERE / (variant if preset == "quick" else f"{variant}-{preset}")
        cfg = RunConfig(algo="smac", env="sawyer-manip", seed=seed, preset=preset, out=out,
                        schedule=schedule_preset(preset), agent_config=config)
        run_experiment(cfg, resume=True, torch_threads=1)
        print(f"{variant} seed {seed} done", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    preset = args.pop(args.index("--preset") + 1) if "--preset" in args else "quick"
    args = [a for a in args if a != "--preset"]
    main(args[0], [int(s) for s in args[1:]] or [0], preset)
