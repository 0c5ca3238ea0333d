"""SMAC with one departure from the faithful config at a time (issues #16 and #18: remedy probes).

Each variant is a full run (the AWAC weights and the encoder change the offline phase) at the ``quick``
schedule, written to ``baselines/<env>-remedies/<variant>/smac-<env>-seed<N>``; the faithful run of the
same seed is ``faithful``. Resumable: a rerun continues unfinished runs.

    python baselines/remedies.py ENV VARIANT [SEED ...] [--preset standard]

Other presets than ``quick`` write to ``<variant>-<preset>/``.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from smac_bench.algos import agent_config
from smac_bench.algos.config import FAMILY_SETTINGS
from smac_bench.harness.config import RunConfig, schedule_preset
from smac_bench.harness.run import run_experiment

HERE = Path(__file__).parent
VARIANTS: dict[str, dict[str, object]] = {
    "faithful": {},
    "whiten-beta1": {"awac_whiten": True, "awac_beta": 1.0},
    "whiten-beta1-kl0.01": {"awac_whiten": True, "awac_beta": 1.0, "kl_weight": 0.01},
    "beta1": {"awac_beta": 1.0},
    "kl0.001": {"kl_weight": 0.001},
    "bernoulli-kl0.001": {"decoder_loss": "bernoulli", "kl_weight": 0.001},
    "whiten-beta1-bernoulli-kl0.001": {"awac_whiten": True, "awac_beta": 1.0, "decoder_loss": "bernoulli",
                                       "kl_weight": 0.001},
    # the probes that led to FAMILY_SETTINGS["sawyer-manip"] (each at rlkit's learning rates, 3e-4)
    "episode-return": {**FAMILY_SETTINGS["sawyer-manip"], "awac_beta": 1.0, "actor_likelihood": "tanh_gaussian",
                       "policy_lr": 3e-4, "context_lr": 3e-4},
    "episode-return-beta0.3": {**FAMILY_SETTINGS["sawyer-manip"], "actor_likelihood": "tanh_gaussian",
                               "policy_lr": 3e-4, "context_lr": 3e-4},
    "episode-return-beta0.3-action-gaussian": {**FAMILY_SETTINGS["sawyer-manip"], "policy_lr": 3e-4,
                                               "context_lr": 3e-4},
    "family": FAMILY_SETTINGS["sawyer-manip"],  # what sawyer-manip runs now (smac_bench.algos.config)
}


def main(env: str, variant: str, seeds: list[int], preset: str = "quick") -> None:
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    config = dataclasses.replace(agent_config("smac", preset), **VARIANTS[variant])
    for seed in seeds:
        out = HERE / f"{env}-remedies" / (variant if preset == "quick" else f"{variant}-{preset}")
        cfg = RunConfig(algo="smac", env=env, seed=seed, preset=preset, out=out,
                        schedule=schedule_preset(preset), agent_config=config)  # the preset's, not a family's budget
        run_experiment(cfg, resume=True, torch_threads=1)
        print(f"{variant} seed {seed} done", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    preset = args.pop(args.index("--preset") + 1) if "--preset" in args else "quick"
    args = [a for a in args if a != "--preset"]
    main(args[0], args[1], [int(s) for s in args[2:]] or [0], preset)
