"""Train + periodic evaluation loop: result files, schemas, checkpoints, resume, determinism."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "harness"))
import harness_toy  # noqa: E402

from smac_bench.errors import UserError  # noqa: E402
from smac_bench.harness.config import RunConfig, Schedule, parse_seeds  # noqa: E402
from smac_bench.harness.results import EPISODE_COLUMNS, METRIC_COLUMNS, read_csv  # noqa: E402
from smac_bench.harness.run import ProgressEvent, run_experiment  # noqa: E402

harness_toy.register()
SCHEDULE = Schedule(offline_updates=300, online_env_steps=200, eval_every_updates=100, eval_every_env_steps=100,
                    num_runs=2, num_exploration_trajectories=1, num_offline_tasks=3)


def _cfg(tmp_path: Path, seed: int = 0) -> RunConfig:
    return RunConfig(algo="toy-scripted", env="toy", seed=seed, preset="smoke", out=tmp_path, schedule=SCHEDULE)


def _run(cfg: RunConfig, **kw) -> pd.DataFrame:
    return run_experiment(cfg, buffer=harness_toy.toy_buffer(), env_spec=harness_toy.toy_spec(horizon=10, noisy=True),
                          **kw)


def test_run_writes_documented_files(tmp_path):
    cfg = _cfg(tmp_path)
    events: list[ProgressEvent] = []
    _run(cfg, progress=events.append)
    d = cfg.run_dir
    assert d == tmp_path / "toy-scripted-toy-seed0"
    raw = pd.read_csv(d / "episodes.csv")
    assert list(raw.columns) == list(EPISODE_COLUMNS)
    ep = read_csv(d / "episodes.csv", EPISODE_COLUMNS)
    assert dict(ep.dtypes.astype(str)) == {c: t for c, t in EPISODE_COLUMNS.items()}
    # evaluations: offline at 100, 200, 300 updates; online at +100, +200 env steps
    assert sorted(ep.train_step.unique()) == [100, 200, 300, 400, 500]
    assert ep.groupby("train_step").phase.first().tolist() == ["offline"] * 3 + ["online"] * 2
    assert ep.groupby("train_step").phase_step.first().tolist() == [100, 200, 300, 100, 200]
    per_eval = len(harness_toy.TEST_IDS) * 2 + 3 * 2
    assert len(ep) == 5 * per_eval
    assert set(ep.context_source) == {"exploration", "offline"} and (ep.protocol == "v2(R=2,K=1,H=200)").all()
    # the scripted agent's score follows its skill: return = L * g * (1 - skill * C/(C+1)) - L * u
    head = ep[(ep.context_source == "exploration") & (ep.train_step == 500)]
    skill = 500 / 600
    want = [harness_toy.expected_return(k, 10, 10, skill) for k in head.task_id]
    np.testing.assert_allclose(head["return"], want, atol=10 * 0.1 + 1e-4)
    metrics = read_csv(d / "metrics.csv", METRIC_COLUMNS)
    assert list(pd.read_csv(d / "metrics.csv").columns) == list(METRIC_COLUMNS)
    assert set(metrics.metric) == {"loss", "noise", "online_loss"}
    cfg_json = json.loads((d / "config.json").read_text())
    for key in ("algo", "env", "seed", "preset", "schedule", "protocol", "agent_config", "environment", "obs_dim"):
        assert key in cfg_json
    assert cfg_json["environment"]["packages"]["torch"] and "commit" in cfg_json["environment"]["git"]
    for ckpt in ("latest", "offline_end", "online_end"):
        assert (d / "checkpoints" / ckpt / "agent" / "state.json").is_file()
    offline_end = json.loads((d / "checkpoints" / "offline_end" / "agent" / "state.json").read_text())
    assert offline_end["steps"] == 300
    assert events[-1].phase == "done" and events[-1].done == events[-1].total == 500
    assert not list(d.rglob("*.tmp"))  # atomic writes leave no temp files


def test_same_seed_same_numbers_and_existing_dir_needs_resume(tmp_path):
    a = _run(_cfg(tmp_path / "a"))
    b = _run(_cfg(tmp_path / "b"))
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(UserError, match="--resume"):
        _run(_cfg(tmp_path / "a"))


class _Crash(Exception):
    pass


def test_resume_continues_from_the_last_checkpoint(tmp_path):
    full = _run(_cfg(tmp_path / "full"))
    cfg = _cfg(tmp_path / "crash")

    def crash(event: ProgressEvent) -> None:
        # die while evaluating the first online chunk: its metrics row is on disk, its checkpoint is not
        if event.phase == "online" and event.status == "evaluating":
            raise _Crash

    with pytest.raises(_Crash):
        _run(cfg, progress=crash)
    partial_metrics = read_csv(cfg.run_dir / "metrics.csv", METRIC_COLUMNS)
    assert partial_metrics.train_step.max() == 400  # written before the crash, after the checkpoint
    resumed = _run(cfg, resume=True)
    pd.testing.assert_frame_equal(resumed, full)
    pd.testing.assert_frame_equal(read_csv(cfg.run_dir / "metrics.csv", METRIC_COLUMNS).drop(columns="wall_s"),
                                  read_csv(_cfg(tmp_path / "full").run_dir / "metrics.csv",
                                           METRIC_COLUMNS).drop(columns="wall_s"))


def test_parse_seeds():
    assert parse_seeds(None, None) == [0]
    assert parse_seeds(3, None) == [3]
    assert parse_seeds(None, "0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds(None, "1,3,5-6") == [1, 3, 5, 6]
    for bad in ("4-0", "a", "1,1"):
        with pytest.raises(UserError):
            parse_seeds(None, bad)
    with pytest.raises(UserError):
        parse_seeds(1, "0-2")


class _OfflineOnlyAgent(harness_toy.ScriptedAgent):
    trains_online = False

    def train_online(self, setting, num_env_steps):  # the harness must not call it
        raise AssertionError("train_online called for an offline-only agent")


def test_offline_only_agent_repeats_offline_end_scores_without_reevaluating(tmp_path, monkeypatch):
    from smac_bench.algos.base import register_agent
    from smac_bench.harness import run as run_mod

    register_agent("toy-offline-only", lambda preset: None)(_OfflineOnlyAgent)
    calls = []
    real = run_mod.evaluate_agent
    monkeypatch.setattr(run_mod, "evaluate_agent", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    cfg = RunConfig(algo="toy-offline-only", env="toy", seed=0, preset="smoke", out=tmp_path, schedule=SCHEDULE)
    ep = _run(cfg)
    assert len(calls) == 3  # offline evaluations only
    assert ep.groupby("train_step").phase.first().tolist() == ["offline"] * 3 + ["online"] * 2
    cols = ["task_id", "split", "context_source", "run", "return"]
    end = ep[ep.train_step == 300][cols].reset_index(drop=True)
    for step in (400, 500):
        pd.testing.assert_frame_equal(ep[ep.train_step == step][cols].reset_index(drop=True), end)


def test_halves_refused_for_an_agent_without_them(tmp_path):
    with pytest.raises(UserError, match="halves need .* toy-scripted"):
        _run(_cfg(tmp_path), halves=True)


def test_restore_from_a_run_gives_the_trained_agents_actions(tmp_path):
    import dataclasses

    import torch

    from smac_bench.algos.base import agent_config, make_agent
    from smac_bench.harness.restore import restore

    # Hidden widths other than the preset's: JSON turns them into lists, the restored config needs tuples.
    agent_cfg = dataclasses.replace(agent_config("smac", "smoke"), critic_hidden=(24, 24), policy_hidden=(20,))
    schedule = Schedule(offline_updates=20, online_env_steps=0, eval_every_updates=10, eval_every_env_steps=100,
                        num_runs=1, num_exploration_trajectories=1, num_offline_tasks=2)
    cfg = RunConfig(algo="smac", env="toy", seed=3, preset="smoke", out=tmp_path, schedule=schedule,
                    agent_config=agent_cfg)
    buffer = harness_toy.toy_buffer()
    run_experiment(cfg, buffer=buffer, env_spec=harness_toy.toy_spec(horizon=5))
    trained = make_agent("smac", 2, 1, agent_cfg, seed=3)
    trained.train_offline(buffer, 10)
    trained.train_offline(buffer, 10)
    obs, z = np.random.default_rng(0).normal(size=(6, 2)), torch.randn(6, agent_cfg.latent_dim)
    expected = trained.act(obs, z, deterministic=True)
    ckpt = cfg.run_dir / "checkpoints" / "offline_end"
    for source in (cfg.run_dir, ckpt, ckpt / "agent"):
        agent = restore(source, checkpoint="offline_end")
        assert agent.config == agent_cfg and agent.num_updates == 20
        np.testing.assert_array_equal(agent.act(obs, z, deterministic=True), expected)
    with pytest.raises(UserError, match="online_end"):
        restore(cfg.run_dir, checkpoint="online_end")


def test_resume_reads_config_fields_a_run_predates_as_their_defaults(tmp_path):
    from smac_bench.algos import agent_config

    cfg = RunConfig(algo="smac", env="toy", seed=0, preset="smoke", out=tmp_path, schedule=SCHEDULE,
                    agent_config=agent_config("smac", "smoke"))
    _run(cfg)
    path = cfg.run_dir / "config.json"
    recorded = json.loads(path.read_text())
    del recorded["agent_config"]["online_awac_beta"]  # as written before the field existed
    path.write_text(json.dumps(recorded))
    _run(cfg, resume=True)  # accepted: the missing field reads as its default
    recorded["agent_config"]["kl_weight"] = 0.5
    path.write_text(json.dumps(recorded))
    with pytest.raises(UserError, match="different agent_config"):
        _run(cfg, resume=True)
