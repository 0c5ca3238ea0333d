"""Cross-checks between the parts of a submission that validate cannot see one part at a time.

The schema checks each field's shape; these checks ask whether the parts tell one story: the
per-seed configs name the seeds, algo, env and protocol the episodes do; the declared compute
covers the training the episodes show; the date is a real day; every return is one a real
episode of the family can have. Each function returns problem strings (empty when consistent).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from smac_bench.leaderboard import schema as S


def meta_problems(meta: Mapping[str, Any], today: _dt.date | None = None) -> list[str]:
    """Text safety, a real ``created`` date not in the future, canonical checkpoint seed keys."""
    problems = S.text_problems(meta)
    try:
        created = _dt.date.fromisoformat(meta["created"])
    except ValueError:
        problems.append(f"created {meta['created']!r} is not a real date (YYYY-MM-DD)")
    else:
        if created > (today or _dt.date.today()) + _dt.timedelta(days=1):
            problems.append(f"created {meta['created']} is in the future")
    for key in meta.get("checkpoints", {}):
        if str(int(key)) != key:
            problems.append(f"checkpoints key {key!r} must be the seed written plainly ({int(key)})")
    return problems


def config_problems(configs: Mapping[int, Any], meta: Mapping[str, Any]) -> list[str]:
    """Each ``configs/seed<N>.json`` is the run of seed N, with the submission's algo, env and protocol."""
    problems: list[str] = []
    presets = set()
    for seed, config in sorted(configs.items()):
        where = f"configs/seed{seed}.json"
        problems += S.text_problems(config, where)
        for key, want in (("seed", seed), ("algo", meta["algo"]), ("env", meta["env"])):
            if config.get(key) != want:
                problems.append(f"{where} names {key} {repr(config.get(key))[:40]}, the episodes {want!r}")
        protocol = config.get("protocol")
        # "label" says which protocol values ran (e.g. "v1(R=1,K=1)" at smoke); older configs carry "version".
        label = protocol.get("label", protocol.get("version")) if isinstance(protocol, Mapping) else None
        if label != meta["protocol"]:
            problems.append(f"{where} ran protocol {str(label)[:40]!r}, the episodes say {meta['protocol']!r}")
        presets.add(str(config.get("preset"))[:40])
    if len(presets) > 1:
        problems.append(f"the seeds were run with different presets ({', '.join(sorted(presets))})")
    return problems[:8]


def budget_problems(meta: Mapping[str, Any], phase: str, train_step: int,
                    offline_end_step: int | None = None) -> list[str]:
    """A declared compute budget must cover the final evaluation point the episodes show.

    The harness's ``train_step`` counts offline updates, then continues with online env steps. A
    registered offline-only agent (``trains_online = False``) repeats its offline-end scores at the
    online points, so only its offline updates (``offline_end_step``) have to be covered.
    """
    if phase == "online" and offline_end_step is not None and _offline_only(meta.get("algo")):
        phase, train_step = "offline", offline_end_step
    budget = meta.get("compute_budget", {})
    offline, online = budget.get("offline_updates"), budget.get("online_env_steps")
    if phase == "offline" and offline is not None and offline < train_step:
        return [f"compute_budget offline_updates {offline} is below the {train_step} updates the final "
                "evaluation was run after"]
    if phase == "online" and offline is not None and online is not None and offline + online < train_step:
        return [f"compute_budget ({offline} offline updates + {online} online env steps) is below the final "
                f"evaluation's training step {train_step}"]
    return []


def _offline_only(algo: object) -> bool:
    """``True`` for a registered agent that never trains online; unknown names are not trusted to be."""
    from smac_bench.algos import AGENTS

    entry = AGENTS.get(str(algo))
    return entry is not None and getattr(entry.factory, "trains_online", True) is False


def return_problems(episodes: pd.DataFrame, env: str, horizon: int) -> list[str]:
    """Every return finite and inside what a real episode of ``env`` can reach."""
    bounds = S.return_bounds(env, horizon)
    if bounds is None:
        return [f"no reward bounds are known for env {env!r}, so its returns cannot be checked"]
    low, high = bounds
    returns = episodes["return"].to_numpy(dtype=float)
    bad = [float(r) for r in returns if not (math.isfinite(r) and low <= r <= high)]
    if bad:
        return [f"{len(bad)} episode return(s) such as {bad[0]:.6g} lie outside [{low:g}, {high:g}], the range "
                f"a {horizon}-step {env} episode can reach"]
    return []


# Upper bounds on sizes a submitted agent config may ask for before anything is allocated.
_MAX_WIDTH = 4096
_MAX_COUNT = 10_000_000


def agent_config_problems(values: Any, where: str) -> list[str]:
    """Sizes in a submitted ``agent_config`` that no registered agent needs (a 1e6-wide layer is 4 TB)."""
    if not isinstance(values, Mapping):
        return [] if values is None else [f"{where} agent_config must be a JSON object"]
    problems = []
    for key, value in values.items():
        items = value if isinstance(value, list) else [value]
        if len(items) > 16:
            problems.append(f"{where} agent_config.{key} has {len(items)} entries")
            continue
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                continue
            limit = _MAX_WIDTH if key.endswith(("hidden", "_dim")) else _MAX_COUNT
            if not math.isfinite(item) or abs(item) > limit:
                problems.append(f"{where} agent_config.{key} = {item!r} is beyond {limit}")
                break
    return problems[:8]
