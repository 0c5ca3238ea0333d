"""SMAC with ``encoder_buffer="exploration"`` on the standard cheetah-vel runs' offline phases (issue #17).

For each seed, the online phase restarts from the reference SMAC run's ``offline_end`` checkpoint
(``baselines/cheetah-vel-standard/smac-cheetah-vel-seed<N>``, the same offline phase bit for bit), with
one change to the agent's config: online contexts come from a task's online prior-``z`` rollouts once
it has any. So the comparison with the reference runs is paired by seed and differs only online.

    python baselines/cheetah-vel-exploration-remedy/measure.py 0 1 2
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from smac_bench.algos import agent_config
from smac_bench.harness.config import RunConfig, schedule_preset
from smac_bench.harness.fork import fork_offline
from smac_bench.harness.run import run_experiment

HERE = Path(__file__).parent
DONORS = HERE.parent / "cheetah-vel-standard"


def main(seeds: list[int]) -> None:
    config = dataclasses.replace(agent_config("smac", "standard"), encoder_buffer="exploration")
    for seed in seeds:
        cfg = RunConfig(algo="smac", env="cheetah-vel", seed=seed, preset="standard", out=HERE,
                        schedule=schedule_preset("standard"), agent_config=config)
        if not (cfg.run_dir / "checkpoints").exists():
            if not fork_offline(DONORS / cfg.run_name, cfg):
                raise SystemExit(f"{DONORS / cfg.run_name} has no offline_end checkpoint")
            # the checkpoint records the donor's config; only this online-phase field differs
            for point in ("latest", "offline_end"):
                state_file = cfg.run_dir / "checkpoints" / point / "agent" / "state.json"
                state = json.loads(state_file.read_text())
                state["config"]["encoder_buffer"] = "exploration"
                state_file.write_text(json.dumps(state))
        run_experiment(cfg, resume=True, torch_threads=1)
        print(f"seed {seed} done", flush=True)


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [0, 1, 2])
