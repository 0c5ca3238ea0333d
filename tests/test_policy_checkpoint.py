"""Policy checkpoints (#15 item 4): every kept point holds what evaluation needs, and re-evaluating it
on the same machine and thread settings gives the run's own episodes.csv rows."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from safetensors import safe_open

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "harness"))
import harness_toy  # noqa: E402

from smac_bench.algos.base import agent_config  # noqa: E402
from smac_bench.errors import UserError  # noqa: E402
from smac_bench.harness.config import RunConfig, Schedule  # noqa: E402
from smac_bench.harness.envpool import make_pool  # noqa: E402
from smac_bench.harness.evaluate import evaluate_agent  # noqa: E402
from smac_bench.harness.restore import restore  # noqa: E402
from smac_bench.harness.run import run_experiment  # noqa: E402

SCHEDULE = Schedule(offline_updates=40, online_env_steps=80, eval_every_updates=40, eval_every_env_steps=80,
                    num_runs=2, num_exploration_trajectories=1, num_offline_tasks=3)


@pytest.mark.parametrize(("algo", "changes"), [
    ("smac", {}), ("offline-pearl", {}),
    # the table prior explores and the final episode replays what earned reward: both need the prior's weights
    ("smac", {"exploration_prior": "table", "replay_rewarded_above": -1.0})])
def test_a_pruned_run_reevaluates_from_its_policy_checkpoint_exactly(tmp_path, algo, changes):
    cfg = RunConfig(algo=algo, env="toy", seed=3, preset="smoke", out=tmp_path, schedule=SCHEDULE,
                    agent_config=dataclasses.replace(agent_config(algo, "smoke"), **changes))
    setup, buffer = harness_toy.toy_spec(horizon=10, noisy=True), harness_toy.toy_buffer()
    episodes = run_experiment(cfg, buffer=buffer, env_spec=setup, torch_threads=1)
    point = cfg.run_dir / "checkpoints" / "online_end"
    policy_bytes = sum(f.stat().st_size for f in (point / "policy").iterdir())
    agent_bytes = sum(f.stat().st_size for f in (point / "agent").iterdir())
    with safe_open(point / "policy" / "weights.safetensors", "pt") as weights:
        kept = {key.split(".")[0] for key in weights.keys()}  # noqa: SIM118 (safe_open is no mapping)
    assert kept == {"policy", "encoder", "rng"} | ({"table_prior"} if changes else set())
    assert changes or policy_bytes < agent_bytes / 3  # no optimiser, critics, replay
    shutil.rmtree(point / "agent")  # the full checkpoint may be pruned
    agent = restore(cfg.run_dir, checkpoint="online_end")
    with pytest.raises(UserError, match="policy checkpoint"):
        agent.load(point / "policy")
    pool = make_pool(setup.make_env)
    try:
        again = evaluate_agent(agent, pool, setup.test_ids, setup.train_ids, SCHEDULE.protocol(), eval_seed=cfg.seed,
                               buffer=buffer)
    finally:
        pool.close()
    final = episodes[episodes["train_step"] == episodes["train_step"].max()]
    columns = list(again.columns)
    pd.testing.assert_frame_equal(final[columns].reset_index(drop=True), again.reset_index(drop=True),
                                  check_dtype=False, check_exact=True)


def test_checkpoints_written_before_a_config_field_existed_still_load(tmp_path):
    import json

    from smac_bench.algos.base import make_agent

    agent = make_agent("smac", 3, 1, agent_config("smac", "smoke"), seed=0)
    agent.save(tmp_path / "agent")
    state = json.loads((tmp_path / "agent" / "state.json").read_text())
    del state["config"]["awac_whiten"]  # as written before the field was added
    (tmp_path / "agent" / "state.json").write_text(json.dumps(state))
    make_agent("smac", 3, 1, agent_config("smac", "smoke"), seed=0).load(tmp_path / "agent")
    state["config"]["awac_beta"] = 1.0  # a recorded field that differs still refuses
    (tmp_path / "agent" / "state.json").write_text(json.dumps(state))
    with pytest.raises(UserError, match="checkpoint config"):
        make_agent("smac", 3, 1, agent_config("smac", "smoke"), seed=0).load(tmp_path / "agent")
