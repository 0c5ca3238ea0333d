"""SMAC's online phase run twice as long (25,600 env steps) from the standard runs' offline phases (issue #17).

Does the exploration-context score keep rising with more online steps, or has it stalled? Each seed
restarts from the reference SMAC run's ``offline_end`` checkpoint (``baselines/cheetah-vel-standard``),
same agent config, only the schedule's online budget doubled (evaluated every 6,400 steps).

    python baselines/cheetah-vel-longer-online/measure.py 2
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from smac_bench.algos import agent_config
from smac_bench.harness.config import RunConfig, schedule_preset
from smac_bench.harness.fork import fork_offline
from smac_bench.harness.run import run_experiment

HERE = Path(__file__).parent
DONORS = HERE.parent / "cheetah-vel-standard"


def main(seeds: list[int]) -> None:
    schedule = dataclasses.replace(schedule_preset("standard"), online_env_steps=25_600, eval_every_env_steps=6_400)
    for seed in seeds:
        cfg = RunConfig(algo="smac", env="cheetah-vel", seed=seed, preset="standard", out=HERE, schedule=schedule,
                        agent_config=agent_config("smac", "standard"))
        if not (cfg.run_dir / "checkpoints").exists() and not fork_offline(DONORS / cfg.run_name, cfg):
            raise SystemExit(f"{DONORS / cfg.run_name} has no offline_end checkpoint")
        run_experiment(cfg, resume=True, torch_threads=1)
        print(f"seed {seed} done", flush=True)


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [2])
