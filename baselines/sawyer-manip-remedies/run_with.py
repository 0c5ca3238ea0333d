"""One sawyer-manip run at the ``standard`` schedule with agent settings overridden (issue #18 probes).

The agent's config is the one ``smac-bench evaluate`` would use (preset and family settings), with the JSON
overrides applied on top, and the schedule's overrides (a second JSON, e.g. ``{"online_env_steps": 0}`` for the
offline phase only); the run folder's ``config.json`` records the result. Resumable: a rerun continues.

    python baselines/sawyer-manip-remedies/run_with.py bc-task 0 OUT '{"policy_inputs": "hand-relative"}'
    python baselines/sawyer-manip-remedies/run_with.py smac 2 OUT '{"kl_weight": 0.01}' '{"online_env_steps": 0}'
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from smac_bench.algos.base import agent_config
from smac_bench.harness.config import RunConfig, schedule_preset
from smac_bench.harness.run import run_experiment

FAMILY, PRESET = "sawyer-manip", "standard"


def run_config(algo: str, seed: int, out: str, overrides: dict, schedule_overrides: dict) -> RunConfig:
    config = dataclasses.replace(agent_config(algo, PRESET, FAMILY), **overrides)
    schedule = dataclasses.replace(schedule_preset(PRESET, FAMILY), **schedule_overrides)
    return RunConfig(algo=algo, env=FAMILY, seed=seed, preset=PRESET, out=Path(out),
                     schedule=schedule, agent_config=config)


def main(algo: str, seed: int, out: str, overrides: dict, schedule_overrides: dict) -> None:
    run_experiment(run_config(algo, seed, out, overrides, schedule_overrides), resume=True, torch_threads=1)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], *(json.loads(arg) for arg in (sys.argv[4:] + ["{}", "{}"])[:2]))
