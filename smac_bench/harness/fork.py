"""Start a run from another run's offline phase, when the two offline phases are the same computation.

SMAC and the oracle (same seed, family, schedule and config) differ only in the online phase: the
oracle's offline updates, evaluations and random streams are SMAC's, bit for bit. So a run of one
can begin where the other's offline phase ended: its ``offline_end`` checkpoint becomes the new
run's ``latest``, the offline rows of ``episodes.csv`` and ``metrics.csv`` are copied with the new
algo's name, and ``run_experiment(..., resume=True)`` trains the online phase. The result equals a
separate run (``tests/test_sweep.py`` checks it); only ``wall_s`` in the copied rows is the donor's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from smac_bench.harness.config import RunConfig
from smac_bench.harness.results import EPISODE_COLUMNS, EPISODES_FILE, METRIC_COLUMNS, METRICS_FILE, read_csv, write_csv
from smac_bench.utils.io import atomic_write_json

STATE_FILE = "state.json"
AGENT_STATE = "agent/state.json"


def fork_offline(donor_dir: Path, cfg: RunConfig) -> bool:
    """Seed ``cfg.run_dir`` with the donor's offline phase; ``False`` (nothing written) if it has none, or
    only its policy (then the forking cell trains the same offline phase itself).

    The caller has checked that the two offline phases are the same computation
    (:func:`~smac_bench.harness.sweep.offline_signature`).
    """
    source = Path(donor_dir) / "checkpoints" / "offline_end"
    try:
        state = json.loads((source / STATE_FILE).read_text())
    except (OSError, ValueError):
        return False
    if int(state.get("offline_done", -1)) != cfg.schedule.offline_updates or int(state.get("online_done", -1)):
        return False
    if not (source / AGENT_STATE).is_file():  # a clone holds only the policy (full checkpoints stay local)
        return False
    target = cfg.run_dir / "checkpoints"
    tmp = target / ".fork.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    agent_state = json.loads((tmp / AGENT_STATE).read_text())
    agent_state["agent"] = cfg.algo  # the same weights and state, now the forking agent's
    atomic_write_json(tmp / AGENT_STATE, agent_state)
    step = cfg.schedule.offline_updates
    for name, columns in ((EPISODES_FILE, EPISODE_COLUMNS), (METRICS_FILE, METRIC_COLUMNS)):
        rows = read_csv(Path(donor_dir) / name, columns)
        rows = rows[(rows["phase"] == "offline") & (rows["train_step"] <= step)].copy()
        rows["algo"] = cfg.algo
        write_csv(cfg.run_dir / name, rows.reset_index(drop=True), columns)
    shutil.copytree(tmp, target / "offline_end")
    tmp.rename(target / "latest")
    return True
