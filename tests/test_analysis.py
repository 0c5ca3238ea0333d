"""IQM / stratified bootstrap against hand computations; report, plot and z-shift on fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "harness"))
import harness_toy  # noqa: E402

from smac_bench.analysis.plots import curve_table, plot_curves  # noqa: E402
from smac_bench.analysis.report import phase_end_scores, reference_table, report_table  # noqa: E402
from smac_bench.analysis.stats import (  # noqa: E402
    bootstrap_mean_ci,
    iqm,
    iqm_rows,
    mean_rows,
    normalise,
    stratified_bootstrap,
)
from smac_bench.errors import UserError  # noqa: E402
from smac_bench.harness.results import find_run_dirs, load_episodes  # noqa: E402

RUNS = Path(__file__).parent / "fixtures" / "harness" / "runs"
OTHER = Path(__file__).parent / "fixtures" / "harness" / "runs_other_protocol"


def test_iqm_by_hand():
    assert iqm(np.arange(1, 9)) == pytest.approx(4.5)  # middle four of 1..8: 3, 4, 5, 6
    assert iqm([1, 2, 3, 4, 5, 6, 7, 1000]) == pytest.approx(4.5)  # robust to the outlier
    assert iqm(np.arange(10)) == pytest.approx(np.mean([2, 3, 4, 5, 6, 7]))  # floor(10/4) = 2 cut per end
    rows = np.array([[8, 1, 2, 3, 4, 5, 6, 7], [1, 1, 1, 1, 9, 9, 9, 9]], float)
    np.testing.assert_allclose(iqm_rows(rows), [4.5, 5.0])
    np.testing.assert_allclose(mean_rows(rows), [4.5, 5.0])
    assert normalise(-345, -345, -37) == 0 and normalise(-37, -345, -37) == 100


def test_stratified_bootstrap_resamples_within_strata():
    # every stratum is constant: resampling seeds inside a stratum cannot move the statistic
    ci = stratified_bootstrap([np.ones(5), np.full(5, 5.0)], mean_rows, reps=500)
    assert (ci.point, ci.low, ci.high) == (3.0, 3.0, 3.0)
    # pooled into one stratum the same numbers do vary
    pooled = stratified_bootstrap([np.r_[np.ones(5), np.full(5, 5.0)]], mean_rows, reps=500)
    assert pooled.high - pooled.low > 1.0


def test_bootstrap_ci_contains_truth_and_shrinks_with_more_seeds():
    rng = np.random.default_rng(1)
    widths, covered = {}, 0
    for n in (8, 32):
        for trial in range(20):
            strata = [rng.normal(3.0 + t, 1.0, size=n) for t in range(4)]  # true mean 4.5
            ci = stratified_bootstrap(strata, mean_rows, reps=400, rng=trial)
            covered += ci.low <= 4.5 <= ci.high
            widths.setdefault(n, []).append(ci.high - ci.low)
    assert covered >= 34  # ~95 % of 40 intervals
    ratio = np.mean(widths[8]) / np.mean(widths[32])
    assert 1.6 < ratio < 2.5  # width ~ 1 / sqrt(n): 4x the seeds, half the width
    # analytic check: the mean's CI ~ +-1.96 sigma / sqrt(N)
    strata = [rng.normal(0, 1, size=400)]
    ci = stratified_bootstrap(strata, mean_rows, reps=2000)
    assert ci.high - ci.low == pytest.approx(2 * 1.96 / 20, rel=0.15)
    one = bootstrap_mean_ci([7.0])
    assert (one.point, one.low, one.high) == (7.0, 7.0, 7.0)


def test_load_episodes_and_report_numbers():
    dirs = find_run_dirs([RUNS])
    assert len(dirs) == 10
    df = load_episodes([RUNS])
    refs = reference_table([str(d) for d in dirs])
    assert refs["cheetah-vel"] == (-345.0, -37.0)
    table = report_table(df, refs, reps=300)
    row = table[(table.env == "cheetah-vel") & (table.algo == "smac") & (table.point == "online end")
                & (table.context_source == "exploration")].iloc[0]
    # by hand: per (seed, task) mean over runs at the last online evaluation, then mean / IQM over all
    sub = df[(df.env == "cheetah-vel") & (df.algo == "smac") & (df.train_step == 300) & (df.split == "test")]
    cells = sub.groupby(["seed", "task_id"])["return"].mean().to_numpy()
    assert row["mean"] == pytest.approx(cells.mean())
    assert row["iqm"] == pytest.approx(iqm(cells))
    assert row.n_seeds == 3 and row.n_tasks == 4
    assert row.mean_low <= row["mean"] <= row.mean_high
    assert row.norm_mean == pytest.approx(100 * (cells.mean() + 345) / (345 - 37))
    assert row.norm_iqm_low == pytest.approx(100 * (row.iqm_low + 345) / 308)
    assert {"all", "cheetah-vel", "ant-dir"} == set(table.env)
    assert set(table.point) == {"offline end", "online end"}
    ends = phase_end_scores(df)
    assert set(ends.groupby("phase").apply(lambda g: g.point.iloc[0], include_groups=False)) == {
        "offline end", "online end"}


def test_plot_on_fixtures(tmp_path):
    df = load_episodes([RUNS])
    curves = curve_table(df)
    c = curves[(curves.env == "ant-dir") & (curves.algo == "smac")]
    assert c.train_step.tolist() == [100, 200, 300] and (c.n_seeds == 2).all()
    assert ((c.low <= c["mean"]) & (c["mean"] <= c.high)).all()
    out = plot_curves(df, tmp_path / "fig.png")
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"


def test_mixed_protocols_and_empty_folders_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="mix protocol versions"):
        load_episodes([RUNS, OTHER])
    with pytest.raises(UserError, match="no results found"):
        load_episodes([tmp_path])
    with pytest.raises(UserError, match="does not exist"):
        load_episodes([tmp_path / "nope"])


def test_zshift_on_a_toy_run(tmp_path):
    from smac_bench.analysis.zshift import zshift_analysis
    from smac_bench.harness.config import RunConfig, Schedule
    from smac_bench.harness.run import run_experiment

    harness_toy.register()
    schedule = Schedule(offline_updates=100, online_env_steps=100, eval_every_updates=100, eval_every_env_steps=100,
                        num_runs=1, num_exploration_trajectories=1, num_offline_tasks=4)
    cfg = RunConfig(algo="toy-scripted", env="toy", seed=0, preset="smoke", out=tmp_path, schedule=schedule)
    buffer, spec = harness_toy.toy_buffer(shift=2.0), harness_toy.toy_spec(horizon=10)
    run_experiment(cfg, buffer=buffer, env_spec=spec)
    csv_path, fig_path, table = zshift_analysis(cfg.run_dir, buffer=buffer, env_spec=spec, num_runs=2)
    assert fig_path.read_bytes()[:4] == b"\x89PNG"
    back = pd.read_csv(csv_path)
    assert set(back.checkpoint) == {"offline_end", "online_end"}
    assert set(back.context_source) == {"offline", "exploration"}
    assert len(back) == 2 * 2 * 4 * 2 and set(back.task_id) == {0, 3, 6, 9}
    # the offline data is shifted by +2: its posterior mean is further from 0 -> larger KL
    kl = back.groupby("context_source").posterior_kl.mean()
    assert kl["offline"] > kl["exploration"]
    # claim 3: within-task KL (exploration vs offline posterior) over between-task KL, and the return gap
    claim3 = pd.read_csv(cfg.run_dir / "zshift_claim3.csv")
    assert claim3.checkpoint.tolist() == ["offline_end", "online_end"]
    assert (claim3.within_kl > 0).all() and (claim3.between_kl > 0).all() and (claim3.offline_within_kl >= 0).all()
    assert np.allclose(claim3.kl_ratio, claim3.within_kl / claim3.between_kl)
    assert np.allclose(claim3.return_gap, claim3.return_offline - claim3.return_exploration)
    assert claim3.train_step.tolist() == [100, 200] and claim3.episodes_return_gap.notna().all()


def test_gaussian_kl_matches_torch():
    import torch
    from torch.distributions import Normal, kl_divergence

    from smac_bench.analysis.zshift import gaussian_kl

    rng = np.random.default_rng(0)
    m1, m2 = rng.normal(size=(2, 3, 5))
    s1, s2 = rng.uniform(0.1, 2.0, size=(2, 3, 5))
    expected = kl_divergence(Normal(torch.tensor(m1), torch.tensor(s1)), Normal(torch.tensor(m2), torch.tensor(s2)))
    assert np.allclose(gaussian_kl(m1, s1, m2, s2), expected.sum(-1).numpy())


def test_curves_match_seeds_by_evaluation_when_online_steps_differ():
    rows = []
    for seed, online_steps in ((0, [1100, 2300]), (1, [1000, 2100])):
        for phase, steps in (("offline", [500, 1000]), ("online", online_steps)):
            for step in steps:
                rows.append({"env": "ant-dir", "algo": "smac", "seed": seed, "phase": phase, "train_step": step,
                             "context_source": "exploration", "return": float(step + seed)})
    c = curve_table(pd.DataFrame(rows), reps=50)
    assert c.train_step.tolist() == [500, 1000, 1050, 2200]
    assert (c.n_seeds == 2).all()
    assert c["mean"].tolist() == [500.5, 1000.5, 1050.5, 2200.5]
