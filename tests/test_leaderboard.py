"""Leaderboard: submission format, validation against a corpus of bad submissions, recomputed IQM, verify."""

from __future__ import annotations

import csv
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from fixtures.leaderboard.build import KW, REFERENCE, RUNS, edit_meta, edit_rows, make_submission, rehash

from smac_bench.errors import UserError
from smac_bench.leaderboard import schema as S
from smac_bench.leaderboard.aggregate import iqm, stratified_bootstrap_ci
from smac_bench.leaderboard.schema import SubmissionError
from smac_bench.leaderboard.validate import validate_submission
from smac_bench.leaderboard.verify import EvalRequest, verification_seeds, verify_submission


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return make_submission(tmp_path_factory.mktemp("lb") / "2025-01-02_fixture-method")


@pytest.fixture()
def copy(good, tmp_path) -> Path:
    target = tmp_path / "sub"
    shutil.copytree(good, target)
    return target


def _final_rows(rows):
    return [r for r in rows
            if r["phase"] == "online" and r["train_step"] == "200" and r["context_source"] == "exploration"]


def test_good_submission_passes_and_iqm_matches_hand_computation(good):
    entry = validate_submission(good, incoming=True, **KW)
    # By hand: per (seed, test task) mean over the 4 runs of the final evaluation, normalised with
    # the reference scores, then the mean of the middle 50% of the 150 sorted scores.
    scores = []
    for run in sorted(RUNS.glob("seed*")):
        with open(run / "episodes.csv", newline="") as f:
            rows = _final_rows(list(csv.DictReader(f)))
        for task in range(100, 130):
            returns = [float(r["return"]) for r in rows if int(r["task_id"]) == task]
            assert len(returns) == 4
            scores.append(100 * (sum(returns) / 4 - REFERENCE[0]) / (REFERENCE[1] - REFERENCE[0]))
    scores.sort()
    cut = len(scores) // 4  # 37 of 150 dropped at each end
    hand = sum(scores[cut:len(scores) - cut]) / (len(scores) - 2 * cut)
    assert entry.iqm == pytest.approx(hand, abs=1e-12)
    assert entry.ci[0] < entry.iqm < entry.ci[1]
    assert entry.final.seeds == [0, 1, 2, 3, 4] and entry.final.num_runs == 4
    assert entry.final.phase == "online" and entry.final.train_step == 200
    meta = json.loads((good / "submission.json").read_text())
    assert meta["dataset"]["sha256"] == "ab" * 32 and meta["protocol"] == "v1"
    assert set(meta["checkpoints"]) == {"0", "1", "2", "3", "4"}
    assert "configs/seed3.json" in meta["files"] and "checkpoints/seed3/weights.safetensors" in meta["files"]
    assert meta["code_commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert meta["package_versions"] == {"smac-bench": "0.1.0", "torch": "2.13.0"}


def test_iqm_and_bootstrap_small_cases():
    assert iqm(np.arange(1, 9)) == 4.5  # drop 1,2 and 7,8
    from scipy.stats import trim_mean

    x = np.random.default_rng(0).normal(size=37)
    assert iqm(x) == pytest.approx(trim_mean(x, 0.25))
    m = np.random.default_rng(1).normal(size=(5, 10))
    assert stratified_bootstrap_ci(m) == stratified_bootstrap_ci(m)  # reproducible
    low, high = stratified_bootstrap_ci(np.ones((5, 3)))
    assert low == high == 1.0


def _write_sparse(path: Path, size: int) -> None:
    path.unlink()
    with open(path, "wb") as f:
        f.truncate(size)


def _drop_seed(folder: Path, seed: int) -> None:
    meta = json.loads((folder / "submission.json").read_text())
    meta["seeds"].remove(seed)
    meta["checkpoints"].pop(str(seed))
    (folder / "submission.json").write_text(json.dumps(meta))
    (folder / f"configs/seed{seed}.json").unlink()
    shutil.rmtree(folder / f"checkpoints/seed{seed}")
    edit_rows(folder, lambda rows: [r for r in rows if r["seed"] != str(seed)])


def _set_cell(column: str, value: str, index: int = 0):
    def fn(rows):
        rows[index][column] = value
        return rows
    return fn


# (case id, mutation of a valid submission folder, text the error must contain)
BAD = [
    ("wrong-type-json", lambda d: edit_meta(d, seeds=["0", "1", "2", "3", "4"]),
     "seeds/0: '0' is not of type 'integer'"),
    ("wrong-type-csv", lambda d: edit_rows(d, _set_cell("task_id", "abc")),
     "column task_id: 'abc' is not a non-negative"),
    ("nan-return", lambda d: edit_rows(d, _set_cell("return", "nan")), "column return: 'nan' is not a finite number"),
    ("inf-return", lambda d: edit_rows(d, _set_cell("return", "1e999")), "'1e999' is not a finite number"),
    ("nan-in-json", lambda d: (d / "submission.json").write_text(
        (d / "submission.json").read_text().replace('"compute_budget": {}', '"compute_budget": {"gpu_hours": NaN}')),
     "non-finite number NaN"),
    ("duplicate-json-key", lambda d: (d / "submission.json").write_text(
        (d / "submission.json").read_text().replace('"hardware": ""', '"hardware": "", "hardware": "x"')),
     "duplicate key 'hardware'"),
    ("missing-episode", lambda d: edit_rows(d, lambda rows: [r for r in rows if not (
        r["seed"] == "2" and r["phase"] == "online" and r["task_id"] == "117" and r["run"] == "3")]),
     "missing episodes in the final evaluation (online step 200): seed 2 task 117 run 3"),
    ("duplicated-episode", lambda d: edit_rows(d, lambda rows: rows + [rows[-300]]), "duplicated episodes: seed"),
    ("train-task-ids", lambda d: edit_rows(d, lambda rows: [
        {**r, "task_id": "7"} if r["task_id"] == "100" and r["context_source"] == "exploration" else r for r in rows]),
     "training task ids 7 appear in the held-out evaluation"),
    ("wrong-protocol", lambda d: edit_meta(d, protocol="v1(R=2,K=2,H=200)"),
     "protocol 'v1(R=2,K=2,H=200)' is not accepted"),
    ("wrong-protocol-rows", lambda d: edit_rows(d, _set_cell("protocol", "v0")), "column protocol has 'v0'"),
    ("wrong-dataset-sha", lambda d: edit_meta(d, dataset={"id": "smac-bench/cheetah-vel/mixed-v0",
                                                          "sha256": "cd" * 32}),
     "does not match the manifest"),
    ("unknown-dataset", lambda d: edit_meta(d, dataset={"id": "smac-bench/other-v0", "sha256": "ab" * 32}),
     "is not in datasets/manifest.json"),
    ("too-few-seeds", lambda d: _drop_seed(d, 4), "4 seed(s); the leaderboard needs at least 5"),
    ("path-traversal-listing", lambda d: edit_meta(d, files={"../../outside.txt": "0" * 64}),
     "names must be relative paths inside the folder: no '..'"),
    ("hidden-file", lambda d: (d / ".evil").write_text("x"), "unsafe file name '.evil'"),
    ("symlink", lambda d: (d / "README.md").symlink_to("/etc/passwd"), "README.md is a symlink"),
    ("oversize", lambda d: _write_sparse(d / "episodes.csv", S.MAX_EPISODES_BYTES + 1), "over the 67108864-byte limit"),
    ("pickle-checkpoint", lambda d: ((d / "checkpoints/seed0/agent.pt").write_bytes(pickle.dumps({"w": 1})), rehash(d)),
     "checkpoints/seed0/agent.pt: pickle-based checkpoints are not accepted"),
    ("pickle-as-safetensors", lambda d: ((d / "checkpoints/seed1/weights.safetensors").write_bytes(pickle.dumps([1])),
                                         rehash(d)), "weights.safetensors is a pickle/torch-zip file"),
    ("unexpected-file", lambda d: ((d / "run.py").write_text("import os"), rehash(d)), "unexpected file run.py"),
    ("reported-aggregates", lambda d: edit_meta(d, iqm=0.99), "Additional properties are not allowed ('iqm'"),
    ("javascript-url", lambda d: edit_meta(d, paper_url="javascript:alert(1)"), "paper_url must be an http"),
    ("tampered-episodes", lambda d: (d / "episodes.csv").write_text((d / "episodes.csv").read_text() + "\n"),
     "episodes.csv does not match its sha256"),
    ("different-final-points", lambda d: edit_rows(d, lambda rows: [r for r in rows if not (
        r["seed"] == "0" and r["phase"] == "online")]), "seeds end at different evaluation points"),
    ("missing-column", lambda d: ((d / "episodes.csv").write_text("protocol,algo\nv1,x\n"), rehash(d)),
     "lacks column(s) env, seed"),
    ("not-json", lambda d: (d / "submission.json").write_text("{nope"), "submission.json is not valid JSON"),
    ("forged-verification", lambda d: (d / "verification.json").write_text('{"verified": true}'),
     "verification.json is not part of a submission"),
]


@pytest.mark.parametrize("mutate,expected", [pytest.param(m, e, id=i) for i, m, e in BAD])
def test_bad_submission_is_rejected_with_its_own_message(copy, mutate, expected):
    mutate(copy)
    with pytest.raises(SubmissionError) as err:
        validate_submission(copy, incoming=True, **KW)
    assert expected in str(err.value), str(err.value)
    assert "\n" not in str(err.value)  # one line for the CLI


def test_bad_corpus_messages_are_distinct():
    assert len({e for _, _, e in BAD}) == len(BAD)


def test_validate_writes_nothing_and_refuses_non_folders(good, tmp_path):
    before = {p: p.stat().st_mtime_ns for p in good.rglob("*")}
    validate_submission(good, **KW)
    assert {p: p.stat().st_mtime_ns for p in good.rglob("*")} == before
    with pytest.raises(SubmissionError, match="does not exist"):
        validate_submission(tmp_path / "nope", **KW)
    (tmp_path / "link").symlink_to(good)
    with pytest.raises(SubmissionError, match="must be a real directory"):
        validate_submission(tmp_path / "link", **KW)


def test_submit_refuses_existing_out_and_leaves_nothing_on_failure(good, tmp_path):
    with pytest.raises(UserError, match="already exists"):
        make_submission(good)
    out = tmp_path / "subs" / "x"
    with pytest.raises(SubmissionError, match="needs at least 5"):
        from smac_bench.leaderboard.submit import SubmissionInfo, build_submission

        build_submission(sorted(RUNS.glob("seed*"))[:3], SubmissionInfo("M", ["A"]), out, **KW)
    assert not out.exists() and os.listdir(tmp_path / "subs") == []



def test_submit_refuses_runs_trained_on_a_local_build_of_the_dataset(tmp_path):
    from smac_bench.leaderboard.submit import SubmissionInfo, build_submission

    runs = tmp_path / "runs"
    shutil.copytree(RUNS, runs)
    config = runs / "seed2" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "dataset_build": {"files": {"x": "0" * 64}}}))
    with pytest.raises(UserError, match="seed2 trained on a local build of .* datasets download"):
        build_submission(sorted(runs.glob("seed*")), SubmissionInfo("M", ["A"]), tmp_path / "out", **KW)
    assert not (tmp_path / "out").exists()

def _echo_evaluator(submission: Path, shift: float = 0.0):
    """Fake harness: replays the submission's own final episodes (plus ``shift``) for each checkpoint."""
    with open(submission / "episodes.csv", newline="") as f:
        rows = _final_rows(list(csv.DictReader(f)))
    calls = []

    def evaluate(req: EvalRequest):
        import pandas as pd

        calls.append(req)
        assert req.checkpoint_dir == submission / f"checkpoints/seed{req.train_seed}"
        mine = [r for r in rows if int(r["seed"]) == req.train_seed]
        return pd.DataFrame({"task_id": [int(r["task_id"]) for r in mine], "run": [int(r["run"]) for r in mine],
                             "context_source": "exploration", "split": "test",
                             "return": [float(r["return"]) + shift for r in mine]})

    return evaluate, calls


def test_verify_records_verdicts_in_the_ledger_only(copy, tmp_path):
    from smac_bench.leaderboard.ledger import read_ledger

    root = tmp_path / "board"
    evaluate, calls = _echo_evaluator(copy, shift=1.0)
    record = verify_submission(copy, evaluator=evaluate, root=root, **KW)
    assert record["verified"] is True and record["machine"]["cpu_count"] >= 1 and record["tolerance"]
    assert not (copy / "verification.json").exists()
    entry = validate_submission(copy, **KW)
    assert read_ledger(root)[entry.submission_sha256]["verified"] is True
    eval_seeds = [c.eval_seed for c in calls]
    assert eval_seeds == verification_seeds(entry.submission_sha256, 5)
    assert len(set(eval_seeds)) == 5 and min(eval_seeds) >= 1_000_000
    assert verification_seeds(entry.submission_sha256, 5, salt="private") != eval_seeds

    evaluate, _ = _echo_evaluator(copy, shift=-120.0)
    assert verify_submission(copy, evaluator=evaluate, root=root, **KW)["verified"] is False
    assert read_ledger(root)[entry.submission_sha256]["verified"] is False

    verify_submission(copy, evaluator=_echo_evaluator(copy)[0], root=root, **KW)
    edit_meta(copy, hardware="changed after verification")
    assert validate_submission(copy, **KW).submission_sha256 not in read_ledger(root)


def test_verify_needs_checkpoints(copy):
    meta = json.loads((copy / "submission.json").read_text())
    del meta["checkpoints"]
    (copy / "submission.json").write_text(json.dumps(meta))
    shutil.rmtree(copy / "checkpoints")
    rehash(copy)
    with pytest.raises(UserError, match="no checkpoint for seed"):
        verify_submission(copy, evaluator=lambda req: None, **KW)


def test_hostile_episode_files_give_errors_not_crashes(copy):
    rng = np.random.default_rng(0)
    header = (copy / "episodes.csv").read_text().splitlines()[0]
    variants = [
        rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(),  # random bytes
        b"",
        header.encode() + b"\n",
        header.encode() + b"\n" + b'"unterminated,quote\n' * 3,
        header.encode() + b"\nv1," + b"x" * 200_000 + b"\n",  # one enormous field
        (copy / "episodes.csv").read_bytes().replace(b"\n", b"\n\x00", 1),  # NUL byte
        (copy / "episodes.csv").read_bytes()[:-5000],  # truncated mid-row
        (copy / "episodes.csv").read_bytes().replace(b",test,", b",test,,", 1),  # extra field
        (copy / "episodes.csv").read_bytes().replace(b"online", b"-1e5", 1),
    ]
    for data in variants:
        (copy / "episodes.csv").write_bytes(data)
        rehash(copy)
        with pytest.raises(SubmissionError):
            validate_submission(copy, **KW)


def test_cli_prints_one_line_and_exits_2(copy):
    import subprocess
    import sys

    edit_meta(copy, protocol="v3")
    out = subprocess.run([sys.executable, "-c", "from smac_bench.cli import main; main()", "leaderboard", "validate",
                          str(copy)], capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "500"})
    assert out.returncode == 2
    assert "is invalid" in out.stderr and "protocol 'v3' is not accepted" in out.stderr
    assert "Traceback" not in out.stderr


def test_compute_budget_option_parsing():
    from smac_bench.cli.leaderboard import _parse_compute

    assert _parse_compute(["online_env_steps=2000", "gpu_hours=1.5", "notes=a=b"]) == {
        "online_env_steps": 2000, "gpu_hours": 1.5, "notes": "a=b"}
    with pytest.raises(UserError, match="must be an integer"):
        _parse_compute(["offline_updates=lots"])
    with pytest.raises(UserError, match="unknown --compute key"):
        _parse_compute(["flops=1"])
