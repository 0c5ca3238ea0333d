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
