"""Typed run configuration: the training/evaluation schedule (presets) and the resolved run config."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smac_bench.errors import UserError
from smac_bench.harness.protocol import ProtocolV2
from smac_bench.presets import PRESETS, check_preset


@dataclass(frozen=True)
class Schedule:
    """How long to train and how often to evaluate.

    Attributes:
        offline_updates: gradient updates of the offline phase.
        online_env_steps: env steps of the online (self-supervised) phase; 0 skips it.
        eval_every_updates: evaluate every this many offline updates (and at the phase end).
        eval_every_env_steps: evaluate every this many online env steps (and at the phase end).
        num_runs: protocol ``R`` (adaptation runs per test task).
        num_exploration_trajectories: protocol ``K``.
        num_offline_tasks: training tasks evaluated with offline context.
        max_eval_envs: most ``(task, run)`` envs alive at once during evaluation (memory bound;
            results do not depend on it). ``None``: all at once.
    """

    offline_updates: int
    online_env_steps: int
    eval_every_updates: int
    eval_every_env_steps: int
    num_runs: int = 4
    num_exploration_trajectories: int = 2
    num_offline_tasks: int = 30
    max_eval_envs: int | None = None

    def protocol(self) -> ProtocolV2:
        """Protocol v2 with this schedule's ``R``, ``K`` (``H`` is always the family's 200 steps)."""
        return ProtocolV2(
            num_runs=self.num_runs,
            num_exploration_trajectories=self.num_exploration_trajectories,
            num_offline_tasks=self.num_offline_tasks,
        )

    @property
    def total_work(self) -> int:
        """Offline updates plus online env steps: the unit of the progress bar."""
        return self.offline_updates + self.online_env_steps


SCHEDULES: dict[str, Schedule] = {
    # CI / a first look: a minute or two on a laptop CPU; R and K cut, so its label is not "v1".
    "smoke": Schedule(offline_updates=200, online_env_steps=400, eval_every_updates=100,
                      eval_every_env_steps=200, num_runs=1, num_exploration_trajectories=1,
                      num_offline_tasks=10),
    # The default: SMAC on cheetah-vel took 3.6 min on 2 busy CPU cores (dataset build not
    # included); evaluation at the paper's protocol v1 (R=4, K=2), so scores are comparable.
    # Online counts are multiples of one quick SMAC/oracle iteration (4 tasks x 400 steps).
    "quick": Schedule(offline_updates=2000, online_env_steps=3200, eval_every_updates=1000,
                      eval_every_env_steps=1600, num_runs=4, num_exploration_trajectories=2,
                      num_offline_tasks=10),
    # The reference runs' budget (issue #17 item 5, calibrated on cheetah-vel, 3 seeds): quick's agents
    # trained 4x longer offline and 4x longer online (8 quick online iterations); about 12 min a
    # SMAC run on one busy CPU core. Evaluation at the quick schedule's R, K and offline tasks.
    "standard": Schedule(offline_updates=8000, online_env_steps=12800, eval_every_updates=4000,
                         eval_every_env_steps=3200, num_runs=4, num_exploration_trajectories=2,
                         num_offline_tasks=10),
    # Paper scale (hours; use a GPU); protocol v1 at the paper's R=4, K=2.
    "paper": Schedule(offline_updates=100_000, online_env_steps=200_000, eval_every_updates=10_000,
                      eval_every_env_steps=20_000),
}


assert tuple(SCHEDULES) == PRESETS, "every preset needs a schedule"


FAMILY_SCHEDULES: dict[tuple[str, str], dict[str, int]] = {
    # issue #18: SMAC's encoder and actor on sawyer-manip still improve between 8,000 and 16,000 updates
    # (baselines/sawyer-manip-remedies/); the bounds get the same budget.
    ("sawyer-manip", "standard"): {"offline_updates": 16_000, "eval_every_updates": 8_000},
}
"""A family's departures from a preset's schedule (its budget, chosen for that family)."""


def schedule_preset(name: str, family: str | None = None) -> Schedule:
    """The schedule of a named preset, with ``family``'s budget (:data:`FAMILY_SCHEDULES`) when given;
    :class:`UserError` for an unknown name (see :mod:`smac_bench.presets`)."""
    schedule = SCHEDULES[check_preset(name)]
    return dataclasses.replace(schedule, **FAMILY_SCHEDULES.get((family or "", name), {}))


@dataclass
class RunConfig:
    """Everything that defines one run (one algorithm, one env, one seed); written to ``config.json``.

    Attributes:
        algo / env / seed / preset: what to run.
        device: ``"cpu"`` or ``"cuda"``.
        out: parent folder; the run lives in ``out / run_name``.
        schedule: the training/evaluation schedule (from the preset unless overridden).
        agent_config: the agent's typed config (from ``agent_config(algo, preset)``).
        dataset_id: the offline dataset the agent trains on.
        eval_workers: processes that step the evaluation envs (0: in this process). Results do not
            depend on it; only speed does.
    """

    algo: str
    env: str
    seed: int
    preset: str = "quick"
    device: str = "cpu"
    out: Path = Path("runs")
    schedule: Schedule = field(default_factory=lambda: SCHEDULES["quick"])
    agent_config: Any = None
    dataset_id: str | None = None
    eval_workers: int = 0

    @property
    def run_name(self) -> str:
        return f"{self.algo}-{self.env}-seed{self.seed}"

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / self.run_name

    def to_dict(self) -> dict[str, Any]:
        return {
            "algo": self.algo,
            "env": self.env,
            "seed": self.seed,
            "preset": self.preset,
            "device": self.device,
            "run_dir": str(self.run_dir),
            "dataset_id": self.dataset_id,
            "eval_workers": self.eval_workers,
            "schedule": dataclasses.asdict(self.schedule),
            "protocol": self.schedule.protocol().to_dict(),
            "agent_config": agent_config_json(self.agent_config),
        }


def agent_config_json(agent_cfg: Any) -> Any:
    """An agent's config as ``config.json`` records it (plain JSON types)."""
    if dataclasses.is_dataclass(agent_cfg) and not isinstance(agent_cfg, type):
        agent_cfg = dataclasses.asdict(agent_cfg)
    return _jsonable(agent_cfg)


def _jsonable(obj: Any) -> Any:
    """Dataclass/tuple/path values as plain JSON types."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def parse_seeds(seed: int | None, seeds: str | None) -> list[int]:
    """``--seed 3`` -> ``[3]``; ``--seeds 0-4`` -> ``[0..4]``; ``--seeds 1,3,5`` -> ``[1, 3, 5]``."""
    if seed is not None and seeds is not None:
        raise UserError("give either --seed N or --seeds A-B, not both")
    if seeds is None:
        out = [0 if seed is None else int(seed)]
        _check_seed_range(out)
        return out
    out: list[int] = []
    for part in seeds.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
            raise UserError(f"bad --seeds {seeds!r}: use a range like 0-4 or a list like 0,2,5")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        _check_seed_range([hi])
        if len(out) + hi - lo + 1 > MAX_SEEDS:
            raise UserError(f"bad --seeds {seeds!r}: more than {MAX_SEEDS} seeds in one call")
        out.extend(range(lo, hi + 1))
    if len(set(out)) != len(out):
        raise UserError(f"bad --seeds {seeds!r}: a seed is repeated")
    return out


MAX_SEEDS = 1000
SEED_LIMIT = 2**32  # numpy and torch seed generators take 32-bit seeds


def _check_seed_range(seeds: list[int]) -> None:
    bad = [s for s in seeds if not 0 <= s < SEED_LIMIT]
    if bad:
        raise UserError(f"seed {bad[0]} is out of range: seeds are whole numbers from 0 to {SEED_LIMIT - 1}")
