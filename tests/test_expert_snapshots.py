"""Picking a dataset's behaviour snapshots from an expert run's learning curve (issue #16 item 3)."""

from __future__ import annotations

import pytest

from smac_bench.errors import UserError
from smac_bench.recipes.expert_snapshots import pick_snapshots, read_curve


def test_picks_run_from_the_untrained_actor_to_the_best_three_evaluations():
    scores = [190, 80, 150, 180, 230, 300, 380, 450, 520, 510, 530, 400]
    curve = [{"mean_return": float(s)} for s in scores]
    picks = pick_snapshots(curve, 6)
    assert picks[0] == 0 and picks[-1] == 10  # best mean of 3 consecutive: 520, 510, 530 -> the last of them
    assert all(a < b for a, b in zip(picks, picks[1:], strict=False)) and len(picks) == 6
    spread = [scores[i] for i in picks[1:]]
    assert spread == sorted(spread)  # from standing towards walking


def test_a_missing_or_short_curve_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="curve.csv is missing"):
        read_curve(tmp_path)
    (tmp_path / "curve.csv").write_text("env_steps,mean_return\n0,1\n")
    with pytest.raises(UserError, match="at least 3"):
        read_curve(tmp_path)


def _random_actor(seed: int = 0):
    import numpy as np

    from smac_bench.recipes.policies import SnapshotPolicy

    rng = np.random.default_rng(seed)
    weights = ((rng.normal(size=(64, 29)).astype(np.float32), rng.normal(size=64).astype(np.float32)),
               (rng.normal(size=(16, 64)).astype(np.float32) / 8, rng.normal(size=16).astype(np.float32)))
    return SnapshotPolicy(weights, -np.ones(8, np.float32), np.ones(8, np.float32), {}, "random")


def test_quarter_turn_policy_is_the_inner_policy_in_its_window_and_turns_with_the_ant():
    import math

    import numpy as np

    from smac_bench.envs.ant_dir import turn_action, turn_observation
    from smac_bench.recipes.policies import QuarterTurnPolicy

    inner = _random_actor()
    policy = QuarterTurnPolicy(inner, centre=math.radians(45))
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(6, 27))
    theta = np.radians([10.0, 30, 60, 75, 89, 45])  # inside the window [0, 90)
    x = np.concatenate([obs, np.cos(theta)[:, None], np.sin(theta)[:, None]], 1).astype(np.float32)
    noise = rng.normal(size=(6, 8)).astype(np.float32)
    np.testing.assert_allclose(policy.act(x, noise), inner.act(x, noise), atol=1e-6)
    plain = inner.act(x, None)
    for k in (1, 2, 3):  # the ant turned by k quarters, walking theta + k * 90 degrees
        turned = theta + k * math.pi / 2
        xk = np.concatenate([turn_observation(obs, k), np.cos(turned)[:, None], np.sin(turned)[:, None]], 1)
        np.testing.assert_allclose(policy.act(xk.astype(np.float32), None), turn_action(plain, k), atol=1e-5)
        assert np.abs(turn_action(plain, k) - plain).max() > 0.1  # turning changes the action


def test_an_index_with_a_window_centre_loads_quarter_turn_policies(tmp_path):
    import json

    from safetensors.numpy import save_file

    from smac_bench.recipes.policies import QuarterTurnPolicy, SnapshotPolicy
    from smac_bench.recipes.snapshots import load_snapshots

    actor = _random_actor()
    meta = {"smac_bench": json.dumps({"action_low": [-1.0] * 8, "action_high": [1.0] * 8})}
    save_file({f"{2 * i}.{kind}": arr for i, layer in enumerate(actor.weights) for kind, arr in zip(
        ("weight", "bias"), layer, strict=True)}, str(tmp_path / "policy-0.safetensors"), metadata=meta)
    index = {"snapshots": [{"file": "policy-0.safetensors"}]}
    (tmp_path / "index.json").write_text(json.dumps(index))
    policies, _ = load_snapshots(tmp_path)
    assert isinstance(policies[0], SnapshotPolicy)
    (tmp_path / "index.json").write_text(json.dumps({**index, "quarter_turn_centre_deg": 45}))
    policies, _ = load_snapshots(tmp_path)
    assert isinstance(policies[0], QuarterTurnPolicy) and policies[0].centre == pytest.approx(0.785398, abs=1e-6)


def test_from_scratch_build_of_the_expert_dataset_names_the_expert_commands():
    from smac_bench.recipes.build import build

    with pytest.raises(UserError, match="long expert run.*recipes.ant_expert.*expert_snapshots"):
        build("smac-bench/ant-dir/mixed-v1", from_scratch=True)


def test_report_puts_standing_still_beside_the_scores(tmp_path):
    import json

    from smac_bench.analysis.report import standing_lines

    refs = {"random": -25.0, "expert": 525.0, "standing": 195.0}
    for env, ref in (("ant-dir", refs), ("cheetah-vel", {"random": -340.0, "expert": -30.0})):
        run = tmp_path / f"smac-{env}-seed0"
        run.mkdir()
        (run / "config.json").write_text(json.dumps({"env": env, "reference_scores": ref}))
    lines = standing_lines([str(p) for p in sorted(tmp_path.iterdir())])
    assert lines == ["ant-dir: standing still scores 195.0 (normalised 40.0); an agent below it has not learnt "
                     "to move the right way"]
