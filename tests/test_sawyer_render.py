"""``smac-bench render sawyer-manip``: offline episodes replayed from a (tiny) dataset, scripted fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from smac_bench.errors import UserError

pytest.importorskip("smac_bench.envs.sawyer.scripted")

SAWYER = "smac-bench/sawyer-manip/scripted-v2"
TINY = dict(task_ids=[0, 1], transitions_per_task=24, max_episode_steps=12, eval_tasks=1)  # siblings of layout 0


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    """A tiny scripted Sawyer dataset (tasks 0 and 1, two 12-step episodes each), built like test_data_build."""
    from smac_bench.data.minari_io import minari_root
    from smac_bench.recipes.build import build

    root = tmp_path_factory.mktemp("minari")
    with minari_root(root):
        build(SAWYER, **TINY)
    return root


@pytest.fixture()
def root(tiny_root, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tiny_root))
    monkeypatch.setenv("SMAC_BENCH_MANIFEST", str(tmp_path / "manifest.json"))
    return tiny_root


def _gif_frames(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as im:
        return im.n_frames


def test_replay_reproduces_recorded_observations(root):
    from smac_bench.recipes.clip import offline_episode, replay_episode

    for task_id in (0, 1):
        ep = offline_episode(task_id, -1)
        assert ep is not None and ep.task_id == task_id and ep.task_episodes == 2 and ep.rank == 1
        assert ep.observations.shape == (13, 32) and ep.actions.shape == (12, 4)
        result = replay_episode(ep)
        np.testing.assert_allclose(result["observations"], ep.observations, atol=1e-5)  # float32 storage
        np.testing.assert_allclose(result["rewards"], ep.rewards)
        assert result["max_obs_error"] < 1e-5
    first = offline_episode(0, 0)
    assert first.rank == 0 and first.index != offline_episode(0, 1).index
    assert offline_episode(2, 0) is None  # a training task the tiny dataset does not hold
    with pytest.raises(UserError, match="out of range"):
        offline_episode(0, 5)


def test_render_command_offline_and_fallbacks(root, tmp_path, monkeypatch, gl_backend):
    from typer.testing import CliRunner

    from smac_bench.cli import app
    from smac_bench.envs import task_family

    runner = CliRunner()
    out = tmp_path / "clip.gif"
    res = runner.invoke(app, ["render", "sawyer-manip", "--task", "1", "--episode", "0", "--out", str(out),
                              "--size", "24", "--every", "4"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())  # rich wraps long lines at spaces
    assert "offline episode --episode 0 (of 2" in text and "max |obs error|" in text
    assert _gif_frames(out) == 1 + 12 // 4  # reset frame + every 4th of the 12 recorded steps
    # a test task: no offline data, the scripted controller with a note
    test_task = task_family("sawyer-manip").test_ids[0]
    out2 = tmp_path / "test.gif"
    res = runner.invoke(app, ["render", "sawyer-manip", "--task", str(test_task), "--out", str(out2),
                              "--size", "16", "--every", "100"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "is a test task" in text and "showing the scripted controller" in text
    assert _gif_frames(out2) == 3  # 200-step horizon, every 100th
    # no dataset installed: a one-line UserError saying how to build it
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "empty"))
    res = runner.invoke(app, ["render", "sawyer-manip", "--task", "1", "--out", str(out), "--size", "16"])
    assert isinstance(res.exception, UserError)
    assert "smac-bench datasets build sawyer-manip" in str(res.exception) and "\n" not in str(res.exception)


def test_render_a_sibling_side_by_side_and_the_frame_strip(root, tmp_path, gl_backend):
    """Tasks 0 and 1 are siblings on layout 0: their offline episodes of the same number are the same
    episode (identical panels), labelled with each task's own aim and return."""
    from PIL import Image
    from typer.testing import CliRunner

    from smac_bench.cli import app
    from smac_bench.recipes.clip import offline_episode, write_frame_strip

    out = tmp_path / "pair.gif"
    res = CliRunner().invoke(app, ["render", "sawyer-manip", "--task", "1", "--sibling", "0", "--episode", "0",
                                   "--out", str(out), "--size", "40", "--every", "4"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "right: sibling task 0 (press_button)" in text and "max |obs error|" in text
    with Image.open(out) as im:
        assert im.size == (40 + 4 + 40, 40) and im.n_frames == 1 + 12 // 4
    res = CliRunner().invoke(app, ["render", "sawyer-manip", "--task", "1", "--sibling", "7", "--out", str(out)])
    assert isinstance(res.exception, UserError) and "not a sibling of task 1" in str(res.exception)
    np.testing.assert_array_equal(offline_episode(0, 1).actions, offline_episode(1, 1).actions)
    strip = write_frame_strip(tmp_path / "strip.png", [[(0, 0), (1, 0)], (1, -1)], frames_per_episode=3, size=32)
    with Image.open(strip) as im:
        assert im.size == (2 * 3 * 32 + 6, 2 * 32 + 6)
