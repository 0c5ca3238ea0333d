"""Hostile submissions: one test per class of attack or mistake (issue #19), each on a valid fixture copy."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
from pathlib import Path

import pytest
from fixtures.leaderboard.build import KW, RUNS, edit_meta, edit_rows, make_submission, rehash

from smac_bench.errors import UserError
from smac_bench.leaderboard.render import render
from smac_bench.leaderboard.schema import SubmissionError
from smac_bench.leaderboard.validate import validate_submission


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return make_submission(tmp_path_factory.mktemp("hostile") / "2025-01-02_fixture-method")


@pytest.fixture()
def board(good, tmp_path) -> Path:
    """A leaderboard folder holding one copy of the good submission."""
    root = tmp_path / "leaderboard"
    shutil.copytree(good, root / "submissions" / good.name)
    return root


@pytest.fixture()
def copy(board, good) -> Path:
    return board / "submissions" / good.name


def _rejected(copy: Path, needle: str) -> None:
    with pytest.raises(SubmissionError) as err:
        validate_submission(copy, **KW)
    assert needle in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def _table_rows(readme: str) -> list[str]:
    return [line for line in readme.splitlines() if re.match(r"^\| \d+ \|", line)]


def test_a_forged_verdict_in_the_folder_is_refused_and_only_the_ledger_shows_a_tick(board, copy):
    (copy / "verification.json").write_text(json.dumps({"submission_sha256": "0" * 64, "verified": True}))
    _rejected(copy, "verdicts live in the maintainers' ledger")
    (copy / "verification.json").unlink()
    render(board, plots=False, **KW)
    assert "✓" not in _table_rows((board / "README.md").read_text())[0]
    sha = validate_submission(copy, **KW).submission_sha256
    ledger = {"schema_version": 1, "entries": {sha: {"verified": True, "reevaluated": {"iqm": 12.5}}}}
    (board / "verified.json").write_text(json.dumps(ledger))
    render(board, plots=False, **KW)
    assert "✓ 12.500" in _table_rows((board / "README.md").read_text())[0]
    (board / "verified.json").write_text('{"entries": []}')
    with pytest.raises(UserError, match="not a verification ledger"):
        render(board, plots=False, **KW)


def test_markdown_injection_through_urls_is_encoded(board, copy):
    edit_meta(copy, paper_url="https://x.org/|![x](https://e.vil/p.png)|[y](javascript:alert(1))|")
    render(board, plots=False, **KW)
    row = _table_rows((board / "README.md").read_text())[0]
    assert row.count(" | ") == 9  # ten cells, none added by the URL
    assert "![x]" not in row and "](javascript" not in row and "%7C" in row


@pytest.mark.parametrize("field,value", [("created", "2025-01-02\n"), ("paper_url", "https://x.org/a\n"),
                                         ("authors", ["A. Tester\u202e"])])
def test_trailing_newlines_and_bidi_overrides_are_refused(copy, field, value):
    edit_meta(copy, **{field: value})
    _rejected(copy, "control/format character")


def test_non_utf8_and_bidi_folder_names_are_listed_escaped_never_ranked(board, copy):
    subs = board / "submissions"
    shutil.copytree(copy, subs / "evil\u202eexe.tpircs")
    os.mkdir(os.path.join(os.fsencode(subs), b"bad-\xff-name"))
    result = render(board, plots=False, **KW)
    names = [name for name, _ in result.rejected]
    assert "evil\\u202eexe.tpircs" in names and "bad-\\udcff-name" in names
    readme = (board / "README.md").read_text()
    assert "\u202e" not in readme and len(_table_rows(readme)) == 1


@pytest.mark.parametrize("value,needle", [("1e308", "lie outside"), ("5000", "lie outside [-10660, 0]")])
def test_impossible_returns_are_refused(copy, value, needle):
    edit_rows(copy, lambda rows: [{**r, "return": value} if r["seed"] == "1" else r for r in rows])
    _rejected(copy, needle)


def test_the_same_submission_in_two_folders_is_ranked_once(board, copy):
    shutil.copytree(copy, board / "submissions" / "2025-01-03_copy")
    result = render(board, plots=False, **KW)
    assert len(_table_rows((board / "README.md").read_text())) == 1
    assert any("a copy of submission" in reason for _, reason in result.rejected)


def _edit_config(copy: Path, seed: int, /, **changes: object) -> None:
    path = copy / f"configs/seed{seed}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    rehash(copy)


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: _edit_config(d, 2, seed=7), "configs/seed2.json names seed 7"),
    (lambda d: _edit_config(d, 2, algo="oracle"), "configs/seed2.json names algo 'oracle'"),
    (lambda d: _edit_config(d, 3, preset="paper"), "different presets"),
    (lambda d: edit_meta(d, created="2025-99-99"), "is not a real date"),
    (lambda d: edit_meta(d, compute_budget={"offline_updates": 0, "online_env_steps": 0}),
     "below the final evaluation's training step 200"),
    (lambda d: edit_meta(d, checkpoints={("0" + k if k == "0" else k): v
                                         for k, v in json.loads((d / "submission.json").read_text())
                                         ["checkpoints"].items()}), "checkpoints key '00'"),
])
def test_parts_that_tell_different_stories_are_refused(copy, mutate, needle):
    mutate(copy)
    _rejected(copy, needle)


def test_hardlinked_and_oversized_checkpoint_headers_are_refused(copy, tmp_path):
    weights = copy / "checkpoints/seed1/weights.safetensors"
    os.link(weights, tmp_path / "outside")
    _rejected(copy, "is hard-linked")
    os.unlink(tmp_path / "outside")
    header = json.dumps({"w": {"dtype": "F32", "shape": [0, 2**62], "data_offsets": [0, 0]}}).encode()
    weights.write_bytes(struct.pack("<Q", len(header)) + header)
    rehash(copy)
    _rejected(copy, "malformed header entry")


def test_submit_refuses_links_and_bad_run_files(tmp_path):
    from smac_bench.leaderboard.submit import SubmissionInfo, build_submission

    runs = []
    for run in sorted(RUNS.glob("seed*")):
        shutil.copytree(run, tmp_path / run.name)
        runs.append(tmp_path / run.name)
    secret = tmp_path / "secret.json"
    secret.write_text('{"token": "s3cret"}')
    ckpt = next(p for p in (runs[0] / "checkpoints").rglob("*") if p.is_dir() and any(p.glob("*.safetensors")))
    (ckpt / "extra.json").symlink_to(secret)
    info = SubmissionInfo("M", ["A"])
    with pytest.raises(UserError, match="is a link or not a plain file"):
        build_submission(runs, info, tmp_path / "out", **KW)
    (ckpt / "extra.json").unlink()
    (runs[0] / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UserError, match="nested too deeply"):
        build_submission(runs, info, tmp_path / "out", **KW)
    shutil.copy(RUNS / "seed0/config.json", runs[0] / "config.json")
    text = (runs[1] / "episodes.csv").read_text().splitlines()
    head = text[0].split(",").index("seed")
    rows = [",".join("abc" if i == head else c for i, c in enumerate(line.split(","))) for line in text[1:]]
    (runs[1] / "episodes.csv").write_text("\n".join([text[0], *rows]) + "\n")
    with pytest.raises(UserError, match="seed\\(s\\) 'abc'"):
        build_submission(runs, info, tmp_path / "out", **KW)
    assert not (tmp_path / "out").exists()


def test_verify_bounds_submitted_sizes_and_turns_load_failures_into_one_line(copy, tmp_path):
    from smac_bench.leaderboard.verify import verify_submission

    def exploding(req):
        raise KeyError("weights_sha256")

    with pytest.raises(UserError, match="checkpoint of seed 0 cannot be re-evaluated .KeyError"):
        verify_submission(copy, evaluator=exploding, root=tmp_path, **KW)
    _edit_config(copy, 0, agent_config={"policy_hidden": [1e6, 1e6]})

    def never(req):
        raise AssertionError("must refuse before building anything")

    with pytest.raises(UserError, match=r"policy_hidden = 1000000.0 is beyond 4096"):
        verify_submission(copy, evaluator=never, root=tmp_path, **KW)


def test_render_refuses_an_index_that_is_a_directory(board):
    (board / "index.html").mkdir()
    with pytest.raises(UserError, match="is not a plain file"):
        render(board, plots=False, **KW)


def test_v1_and_v2_entries_are_never_ranked_together(board, copy):
    v2 = board / "submissions" / "2025-01-04_v2-method"
    shutil.copytree(copy, v2)
    for seed in range(5):
        _edit_config(v2, seed, protocol={"label": "v2", "version": "v2"})
    edit_rows(v2, lambda rows: [{**r, "protocol": "v2"} for r in rows])
    edit_meta(v2, protocol="v2", method="V2 Method")
    result = render(board, plots=False, **KW)
    assert sorted(result.domains) == [("cheetah-vel", "smac-bench/cheetah-vel/mixed-v0", "v1"),
                                      ("cheetah-vel", "smac-bench/cheetah-vel/mixed-v0", "v2")]
    readme = (board / "README.md").read_text()
    assert "— protocol v1" in readme and "— protocol v2" in readme
    assert [len(t) for t in result.domains.values()] == [1, 1]


def test_an_offline_only_agent_declares_only_its_offline_updates():
    from smac_bench.leaderboard.crosscheck import budget_problems

    budget = {"compute_budget": {"offline_updates": 8000, "online_env_steps": 0}}
    # offline PEARL's online rows repeat its offline-end scores: 8,000 updates cover them
    assert budget_problems({**budget, "algo": "offline-pearl"}, "online", 20800, offline_end_step=8000) == []
    assert "below the final evaluation" in budget_problems({**budget, "algo": "smac"}, "online", 20800, 8000)[0]
    assert "below the final evaluation" in budget_problems({**budget, "algo": "my-own"}, "online", 20800, 8000)[0]
    short = {"compute_budget": {"offline_updates": 100, "online_env_steps": 0}, "algo": "offline-pearl"}
    assert "below the 8000 updates" in budget_problems(short, "online", 20800, 8000)[0]
