"""Leaderboard rendering: ranked README tables, the static page, and the page in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fixtures.leaderboard.build import KW, make_submission

from smac_bench.leaderboard.render import render
from smac_bench.leaderboard.validate import validate_submission
from smac_bench.leaderboard.verify import verify_submission

# Online returns shifted per method, so the expected ranking is known: Better > Fixture > Worse.
METHODS = {"Worse Method": -40.0, "Fixture Method": 0.0, "Better Method": 40.0}


@pytest.fixture(scope="module")
def board_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("board") / "leaderboard"
    subs = root / "submissions"
    subs.mkdir(parents=True)
    (subs / ".gitkeep").touch()
    for method, shift in METHODS.items():
        slug = method.split()[0].lower()
        make_submission(subs / f"2025-01-02_{slug}", method=method, shift=shift,
                        paper_url="https://example.org/paper?a=1&b=2" if slug == "better" else None)
    # verified: a fake harness that replays the submitted episodes agrees with them.
    better = subs / "2025-01-02_better"
    rows = (better / "episodes.csv").read_text().splitlines()
    verify_submission(better, evaluator=_replay(rows), **KW)
    (subs / "2025-01-03_<broken>").mkdir()  # invalid: listed as rejected, escaped, never ranked
    render(root, **KW)
    return root


def _replay(lines: list[str]):
    import csv

    import pandas as pd

    rows = [r for r in csv.DictReader(lines) if r["phase"] == "online" and r["context_source"] == "exploration"]

    def evaluate(req):
        mine = [r for r in rows if int(r["seed"]) == req.train_seed]
        return pd.DataFrame({"task_id": [int(r["task_id"]) for r in mine], "run": [int(r["run"]) for r in mine],
                             "return": [float(r["return"]) for r in mine]})

    return evaluate


def test_readme_ranks_entries_by_iqm(board_root):
    text = (board_root / "README.md").read_text()
    table = [line for line in text.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert [line.split("|")[2].strip() for line in table] == ["Better Method", "Fixture Method", "Worse Method"]
    assert "## cheetah-vel — `smac-bench/cheetah-vel/mixed-v0` — protocol v1" in text
    assert "IQM normalised score" in text and "95% CI" in text
    better = table[0]
    assert "✓" in better and "[files](submissions/2025-01-02_better/)" in better
    assert "✓" not in table[1] and "✓" not in table[2]
    iqm = validate_submission(board_root / "submissions/2025-01-02_fixture", **KW).iqm
    assert f"| {iqm:.3f} |" in table[1]
    assert "2025-01-03\\_&lt;broken&gt;" in text and "failed validation" in text


def test_html_is_escaped_and_self_contained(board_root):
    page = (board_root / "index.html").read_text()
    assert page.count("<tr data-method=") == 3
    assert "&lt;broken&gt;" in page and "<broken>" not in page
    assert 'href="https://example.org/paper?a=1&amp;b=2"' in page
    assert "data:image/png;base64," in page and "<script src" not in page and "http://" not in page.split("<script>")[1]


def test_empty_board_renders(tmp_path):
    (tmp_path / "submissions").mkdir()
    board = render(tmp_path, **KW)
    assert not board.domains
    assert "No entries yet" in (tmp_path / "README.md").read_text()
    assert "No entries yet" in (tmp_path / "index.html").read_text()


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _dump_dom(browser: str, url: str, profile: Path) -> str:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
           f"--user-data-dir={profile}", "--virtual-time-budget=2000", "--dump-dom", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (apt-get install chromium)")
def test_page_in_headless_chromium(board_root, tmp_path):
    url = (board_root / "index.html").as_uri()
    dom = _dump_dom(_chromium(), url, tmp_path / "profile")
    assert 'data-ready="yes"' in dom  # the inline script ran to the end
    assert 'data-sorted="iqm:desc"' in dom
    assert re.findall(r'<tr data-method="([^"]+)"', dom) == ["Better Method", "Fixture Method", "Worse Method"]
    # The sort code path on another column: by method name, ascending.
    dom = _dump_dom(_chromium(), url + "#sort=method:asc", tmp_path / "profile")
    assert 'data-sorted="method:asc"' in dom
    assert re.findall(r'<tr data-method="([^"]+)"', dom) == ["Better Method", "Fixture Method", "Worse Method"]
    dom = _dump_dom(_chromium(), url + "#sort=iqm:asc", tmp_path / "profile")
    assert re.findall(r'<tr data-method="([^"]+)"', dom) == ["Worse Method", "Fixture Method", "Better Method"]


def test_ties_on_iqm_and_ci_are_broken_by_the_mean():
    from types import SimpleNamespace

    from smac_bench.leaderboard.render import rank_key

    def entry(method, iqm, low, mean):
        return SimpleNamespace(iqm=iqm, ci=(low, low + 1), mean=mean, meta={"method": method})

    # a sparse-reward domain: IQM 0 for every entry, the mean (the rare successes) tells them apart
    entries = [entry("A", 0.0, 0.0, 2.2), entry("B", 0.0, 0.0, 13.1), entry("C", 0.0, 0.0, 0.1),
               entry("D", 1.0, 0.0, 0.0)]
    assert [e.meta["method"] for e in sorted(entries, key=rank_key)] == ["D", "B", "A", "C"]
