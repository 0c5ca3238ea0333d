"""SMAC's online phase with other settings, forked from a reference run's offline phase (issue #18).

Copies the offline phase of ``DONOR`` (a finished ``smac`` run folder with its full ``offline_end``
checkpoint) into ``baselines/sawyer-manip-remedies/NAME/`` and runs the online phase there with the donor's
agent config plus the JSON overrides, on the donor's schedule. Resumable: a rerun continues. The overrides
must leave the offline phase as it was (online fields: ``online_*``, ``encoder_buffer``, ...): the forked
checkpoint is relabelled with the new config, not retrained. A ``NAME`` with a ``/`` is the output folder
itself (e.g. the reference grid's, after the donor was moved out of it); ``--fork-only`` stops after the copy,
leaving a partial run that ``smac-bench sweep`` (or ``evaluate --resume``) continues.

    python baselines/sawyer-manip-remedies/online_fork.py DONOR NAME '{"online_awac_beta": 1.0}'
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from smac_bench.algos.config import config_to_dict
from smac_bench.harness.config import RunConfig, schedule_preset
from smac_bench.harness.fork import fork_offline
from smac_bench.harness.restore import recorded_agent_config
from smac_bench.harness.run import run_experiment
from smac_bench.utils.io import atomic_write_json

HERE = Path(__file__).parent


def main(donor: str, name: str, overrides: dict, run: bool = True) -> None:
    recorded = json.loads((Path(donor) / "config.json").read_text())
    config = dataclasses.replace(recorded_agent_config(recorded), **overrides)
    env, preset = recorded["env"], recorded["preset"]
    out = Path(name) if "/" in name else HERE / name
    cfg = RunConfig(algo="smac", env=env, seed=int(recorded["seed"]), preset=preset, out=out,
                    schedule=schedule_preset(preset, env), agent_config=config)
    if not (cfg.run_dir / "checkpoints").exists():
        if not fork_offline(Path(donor), cfg):
            raise SystemExit(f"{donor} has no full offline_end checkpoint to fork")
        for checkpoint in ("latest", "offline_end"):
            state_file = cfg.run_dir / "checkpoints" / checkpoint / "agent" / "state.json"
            state = json.loads(state_file.read_text())
            atomic_write_json(state_file, {**state, "config": config_to_dict(config)})
    if run:
        run_experiment(cfg, resume=True, torch_threads=1)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--fork-only"]
    main(args[0], args[1], json.loads(args[2]), run="--fork-only" not in sys.argv)
