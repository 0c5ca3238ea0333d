"""The three claims as intervals over seeds: paired where runs share their offline phase."""

from __future__ import annotations

import pandas as pd
import pytest

from smac_bench.analysis.claims import claims_table, paired_difference, unpaired_difference
from smac_bench.errors import UserError


def _rows(algo: str, seed: int, offline: float, online: float) -> list[dict]:
    base = {"algo": algo, "env": "toy", "seed": seed, "context_source": "exploration", "split": "test"}
    return [{**base, "phase": "offline", "train_step": 100, "task_id": t, "return": offline + t} for t in (0, 1)] + \
           [{**base, "phase": "online", "train_step": 200, "task_id": t, "return": online + t} for t in (0, 1)]


def test_claims_hold_or_fail_on_known_numbers():
    rows = []
    for seed, (smac_on, oracle_on) in enumerate([(30, 31), (34, 35), (32, 33)]):
        rows += _rows("smac", seed, 10 + seed, smac_on) + _rows("oracle", seed, 10 + seed, oracle_on)
        rows += _rows("offline-pearl", seed, 12, 12)
    table = claims_table(pd.DataFrame(rows), {"toy": (0.0, 100.0)}, reps=2000).set_index("what")
    a = table.loc["SMAC - offline PEARL (online end)"]
    assert a.holds and a.estimate == pytest.approx(20.0) and a.low > 0
    b = table.loc["SMAC - oracle (online end)"]
    assert b.paired and b.estimate == pytest.approx(-1.0) and b.high < 0 and not b.holds  # always 1 below
    c = table.loc["SMAC online end - offline end"]
    assert c.holds and c.estimate == pytest.approx(21.0)


def test_pairing_removes_the_seed_to_seed_spread():
    a = pd.Series([10.0, 50.0, 90.0], index=[0, 1, 2])
    b = a - 1.0
    est, lo, hi, n = paired_difference(a, b)
    assert (est, lo, hi, n) == (1.0, 1.0, 1.0, 3)
    est, lo, hi = unpaired_difference(a, b)
    assert est == pytest.approx(1.0) and lo < -20 and hi > 20


def test_the_zshift_half_of_claim_c_reads_each_smac_runs_claim3_csv(tmp_path):
    from smac_bench.analysis.claims import load_claim3

    ratios = {0: (1.4, 0.9), 1: (1.6, 1.2), 2: (1.1, 1.3)}  # seed 2 widens: the mean still falls
    for seed, (off, on) in ratios.items():
        run = tmp_path / f"smac-toy-seed{seed}"
        run.mkdir()
        pd.DataFrame({"algo": "smac", "env": "toy", "seed": seed, "checkpoint": ["offline_end", "online_end"],
                      "kl_ratio": [off, on]}).to_csv(run / "zshift_claim3.csv", index=False)
    (tmp_path / "oracle-toy-seed0").mkdir()  # a run without the file is skipped
    claim3 = load_claim3(sorted(tmp_path.iterdir()))
    rows = [r for seed in ratios for r in _rows("smac", seed, 10, 30)]
    table = claims_table(pd.DataFrame(rows), {}, reps=2000, claim3=claim3).set_index("what")
    kl = table.loc["SMAC within/between KL, online end - offline end"]
    assert kl.claim == "c" and kl.paired and kl.seeds == 3
    assert kl.estimate == pytest.approx((-0.5 - 0.4 + 0.2) / 3)
    # 1 resample in 27 draws seed 2 three times (> 2.5 %): the upper bound is its +0.2, so it does not hold
    assert kl.low < kl.estimate and kl.high == pytest.approx(0.2) and not kl.holds
    without = claims_table(pd.DataFrame(rows), {}, reps=2000)
    assert "SMAC within/between KL, online end - offline end" not in set(without["what"])


def test_claims_on_training_tasks_success_read_only_those_rows():
    """A sparse-reward family: held-out scores tie at 0, training-task success with offline context differs."""
    rows = []
    for seed, (smac, pearl) in enumerate([(0.75, 0.0), (0.5, 0.25), (1.0, 0.0)]):
        for algo, online in (("smac", smac), ("offline-pearl", pearl)):
            held_out = _rows(algo, seed, -200, -200)
            training = [{**r, "context_source": "offline", "split": "train", "return": 0.0,
                         "success": online if r["phase"] == "online" else 0.0}
                        for r in _rows(algo, seed, 0, 0)]
            rows += [{**r, "success": 0.0} for r in held_out] + training
    df = pd.DataFrame(rows)
    headline = claims_table(df, {}, reps=2000).set_index("what").loc["SMAC - offline PEARL (online end)"]
    assert headline.estimate == 0 and not headline.holds
    table = claims_table(df, {}, reps=2000, context="offline", metric="success").set_index("what")
    a = table.loc["SMAC - offline PEARL (online end)"]
    assert a.estimate == pytest.approx(75.0 - 25.0 / 3) and a.holds  # SMAC 75, 50, 100 %; PEARL 0, 25, 0 %
    with pytest.raises(UserError, match="context must be one of"):
        claims_table(df, {}, context="held-out")
