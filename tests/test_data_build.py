"""Tiny datasets end to end: from-scratch recipe, Minari format, determinism, loading, verify, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from smac_bench.errors import UserError

CHEETAH = "smac-bench/cheetah-vel/mixed-v0"
TINY = dict(task_ids=[0, 1, 2], transitions_per_task=60, max_episode_steps=20)


@pytest.fixture(scope="module")
def snaps(tmp_path_factory) -> Path:
    """Behaviour snapshots from a (tiny) from-scratch recipe run: trains SAC, scores on 2 test tasks."""
    from smac_bench.data.minari_io import minari_root
    from smac_bench.recipes.build import build

    folder = tmp_path_factory.mktemp("snaps")
    with minari_root(tmp_path_factory.mktemp("root")):
        summary = build(CHEETAH, from_scratch=True, snapshots=folder, eval_tasks=2,
                        sac_overrides=dict(total_env_steps=48, start_steps=24, hidden=(16,), num_envs=4,
                                           batch_size=8), **TINY)
    assert len(summary["snapshot_test_returns"]) == 6
    return folder


@pytest.fixture()
def root(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    monkeypatch.setenv("SMAC_BENCH_MANIFEST", str(tmp_path / "manifest.json"))
    return tmp_path / "minari"


def _build(snaps: Path, **kw) -> None:
    from smac_bench.recipes.build import build

    build(CHEETAH, snapshots=snaps, **{**TINY, **kw})


def test_snapshot_index(snaps):
    index = json.loads((snaps / "index.json").read_text())
    assert [s["env_steps"] for s in index["snapshots"]][0] == 0
    assert index["snapshots"][-1]["env_steps"] == 48
    assert index["ref_min_score"] < 0 and index["ref_max_score"] == max(s["test_return"] for s in index["snapshots"])
    assert all((snaps / s["file"]).stat().st_size > 0 for s in index["snapshots"])


def test_tiny_dataset_is_a_minari_dataset(snaps, root):
    import minari

    _build(snaps)
    ds = minari.load_dataset(CHEETAH)
    assert ds.total_steps == 180 and ds.total_episodes == 9
    meta = ds.storage.metadata
    sb = meta["smac_bench"]
    assert sb["family"] == "cheetah-vel" and sb["split"] == "train" and sb["seed"] == 0
    assert sb["recipe"] == CHEETAH and sb["behaviour_policy"]["kind"] == "snapshots"
    assert any(r.startswith("minari==") for r in meta["requirements"])
    assert meta["ref_min_score"] < meta["ref_max_score"]
    episode_meta = list(ds.storage.get_episode_metadata(range(ds.total_episodes)))
    for ep, em in zip(ds.iterate_episodes(), episode_meta, strict=True):
        k = int(em["options"]["task_id"])
        assert k in (0, 1, 2)
        assert np.all(ep.infos["task_id"] == k) and len(ep.infos["task_id"]) == len(ep.rewards) + 1
    # each task's episodes walk through the snapshots in order (poor -> good)
    policies = [int(em["behaviour_policy"]) for em in episode_meta[:3]]
    assert policies == sorted(policies) and policies[0] == 0


def test_same_seed_identical_arrays_other_seed_differs(snaps, root, tmp_path, monkeypatch):
    from smac_bench.data import minari_io
    from smac_bench.data.manifest import file_checksums

    _build(snaps)
    a = minari_io.load_arrays(CHEETAH)
    sums = file_checksums(minari_io.dataset_dir(CHEETAH))
    _build(snaps)  # rebuild in place: replaces the dataset atomically
    b = minari_io.load_arrays(CHEETAH)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert file_checksums(minari_io.dataset_dir(CHEETAH)) == sums  # byte-identical files too
    _build(snaps, seed=1)
    c = minari_io.load_arrays(CHEETAH)
    assert not np.array_equal(a["obs"], c["obs"])


def test_load_buffer_equals_minari_episodes(snaps, root):
    import minari

    from smac_bench.data import load_buffer, minari_io, reference_scores

    _build(snaps)
    arrays = minari_io.load_arrays(CHEETAH)
    ds = minari.load_dataset(CHEETAH)
    eps = list(ds.iterate_episodes())
    np.testing.assert_allclose(arrays["obs"], np.concatenate([e.observations[:-1] for e in eps]).astype(np.float32))
    np.testing.assert_allclose(arrays["next_obs"], np.concatenate([e.observations[1:] for e in eps]).astype(np.float32))
    np.testing.assert_array_equal(arrays["actions"], np.concatenate([e.actions for e in eps]))
    np.testing.assert_allclose(arrays["rewards"], np.concatenate([e.rewards for e in eps]).astype(np.float32))
    np.testing.assert_array_equal(arrays["terminals"], np.concatenate([e.terminations for e in eps]))
    index = minari_io.hdf5_path(CHEETAH).with_name("smac_bench_index.json")
    assert index.is_file()
    index.unlink()  # without the layout index: the h5py path gives the same arrays
    slow = minari_io.load_arrays(CHEETAH)
    for key in arrays:
        np.testing.assert_array_equal(arrays[key], slow[key])
    buf = load_buffer(CHEETAH)
    assert buf.task_ids == [0, 1, 2] and buf.sizes.tolist() == [60, 60, 60]
    first_task = arrays["task_ids"] == 0
    np.testing.assert_array_equal(buf.obs[0].numpy(), arrays["obs"][first_task])
    assert reference_scores(CHEETAH) == (ds.storage.metadata["ref_min_score"], ds.storage.metadata["ref_max_score"])


def test_test_tasks_are_refused(snaps, root):
    with pytest.raises(UserError, match="training tasks only"):
        _build(snaps, task_ids=[0, 100])


def test_verify_catches_tampered_file_and_foreign_family(snaps, root, tmp_path):
    from smac_bench.data import load_buffer, minari_io
    from smac_bench.data.checks import verify
    from smac_bench.data.mirror import publish

    _build(snaps)
    publish(CHEETAH, tmp_path / "mirror")  # records per-file checksums in the (tmp) manifest
    assert verify(CHEETAH).problems == []
    h5 = minari_io.hdf5_path(CHEETAH)
    with h5py.File(h5, "a") as f:  # a valid HDF5 file with one changed number
        f["episode_0/rewards"][0] += 1.0
    assert any("sha256" in p for p in verify(CHEETAH).problems)
    # a cheetah dataset copied where the ant-dir one belongs
    ant = minari_io.dataset_dir("smac-bench/ant-dir/mixed-v1")
    shutil.copytree(minari_io.dataset_dir(CHEETAH), ant)
    report = verify("smac-bench/ant-dir/mixed-v1")
    assert any("task family 'cheetah-vel', not 'ant-dir'" in p for p in report.problems)
    with pytest.raises(UserError, match="cheetah-vel"):
        load_buffer("ant-dir")


def test_truncated_and_missing_files_are_user_errors(snaps, root):
    from smac_bench.data import dataset_metadata, load_buffer, minari_io

    _build(snaps)
    h5 = minari_io.hdf5_path(CHEETAH)
    data = h5.read_bytes()
    h5.write_bytes(data[: len(data) // 3])
    with pytest.raises(UserError, match=f"{h5}.*(truncated|damaged).*datasets build"):
        load_buffer(CHEETAH)
    h5.unlink()
    with pytest.raises(UserError, match="main_data.hdf5 is missing"):
        load_buffer(CHEETAH)
    minari_io.metadata_path(CHEETAH).unlink()
    with pytest.raises(UserError, match="not installed"):
        dataset_metadata(CHEETAH)


def test_unknown_name_lists_known(root):
    from smac_bench.data import resolve

    with pytest.raises(UserError, match="smac-bench/cheetah-vel/mixed-v0"):
        resolve("half-cheetah")
    assert resolve("ant-dir") == "smac-bench/ant-dir/mixed-v1"


def test_cli_list_info_verify(snaps, root):
    from typer.testing import CliRunner

    from smac_bench.cli.datasets import app

    _build(snaps)
    runner = CliRunner()
    out = runner.invoke(app, ["list"])
    assert out.exit_code == 0 and "cheetah-vel" in out.output
    out = runner.invoke(app, ["info", "cheetah-vel"])
    assert out.exit_code == 0 and "train" in out.output
    out = runner.invoke(app, ["verify", "cheetah-vel"])
    assert out.exit_code == 0 and "ok" in out.output
    out = runner.invoke(app, ["verify", "ant-dir"])
    assert isinstance(out.exception, UserError)


def test_ensure_dataset_builds_from_shipped_snapshots_once(snaps, root, tmp_path, monkeypatch):
    import dataclasses

    from smac_bench import paths, recipes
    from smac_bench.data import minari_io
    from smac_bench.harness.datasets import ensure_dataset

    shipped = tmp_path / "checkout" / "datasets"
    shutil.copytree(snaps, shipped / "snapshots" / "cheetah-vel")
    shutil.copy(paths.datasets_dir() / "manifest.json", shipped / "manifest.json")
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "checkout")
    small = dataclasses.replace(recipes.RECIPES[CHEETAH], transitions_per_task=12)
    monkeypatch.setitem(recipes.RECIPES, CHEETAH, small)
    ensure_dataset("cheetah-vel")
    meta = minari_io.read_metadata(CHEETAH)
    assert meta["total_steps"] == 100 * 12 and meta["smac_bench"]["task_ids"] == list(range(100))
    before = minari_io.hdf5_path(CHEETAH).stat().st_mtime_ns
    ensure_dataset(CHEETAH)  # installed: nothing to do
    assert minari_io.hdf5_path(CHEETAH).stat().st_mtime_ns == before


def test_scripted_sawyer_recipe(root):
    """A tiny scripted-v2 build of the 4 siblings of layout 0: every sibling records the same
    episodes (observations and actions), each with its own reward labels."""
    pytest.importorskip("smac_bench.envs.sawyer.scripted")
    from smac_bench.data import load_buffer, minari_io, reference_scores
    from smac_bench.data.checks import verify
    from smac_bench.recipes.build import build
    from smac_bench.recipes.scripted import layout_siblings

    sawyer = "smac-bench/sawyer-manip/scripted-v2"
    siblings = list(layout_siblings("sawyer-manip")[0])
    assert siblings == [0, 1, 2, 3]
    build(sawyer, task_ids=siblings, transitions_per_task=24, max_episode_steps=12, eval_tasks=1)
    assert verify(sawyer).problems == []
    assert load_buffer("sawyer-manip").sizes.tolist() == [24] * 4
    lo, hi = reference_scores("sawyer-manip")
    assert lo <= hi
    meta = minari_io.read_metadata(sawyer)
    assert meta["env_spec"] and '"smac_bench/SawyerManip-v1"' in meta["env_spec"]
    policies = meta["smac_bench"]["behaviour_policy"]
    assert policies["policies"] == [f"scripted (sibling aim {e} of each layout) + N(0,0.1^2)" for e in range(8)]
    rows = minari_io.episode_table(sawyer)
    assert [r["policy"] for r in rows if r["task_id"] == 0] == [0, 4]  # 2 of the 8 slots fit in 24 steps
    arrays = minari_io.load_arrays(sawyer)
    for rank in range(2):
        index = {k: [i for i, r in enumerate(rows) if r["task_id"] == k][rank] for k in siblings}
        sel = {k: np.flatnonzero(arrays["episode"] == i) for k, i in index.items()}
        for k in siblings[1:]:
            np.testing.assert_array_equal(arrays["obs"][sel[k]], arrays["obs"][sel[0]])
            np.testing.assert_array_equal(arrays["actions"][sel[k]], arrays["actions"][sel[0]])


def test_corrupt_or_missing_snapshot_is_a_user_error(snaps, root, tmp_path):
    bad = tmp_path / "bad-snaps"
    shutil.copytree(snaps, bad)
    (bad / "policy-3.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(UserError, match="policy-3.safetensors is not a readable policy snapshot"):
        _build(bad)
    (bad / "policy-3.safetensors").unlink()
    with pytest.raises(UserError, match="policy-3.safetensors is missing"):
        _build(bad)
    (bad / "index.json").unlink()
    with pytest.raises(UserError, match="index.json is missing"):
        _build(bad)


def test_rollout_in_env_groups_gives_the_same_episodes():
    from smac_bench.recipes.rollout import RANDOM, rollout

    kw = dict(transitions_per_task=25, max_episode_steps=10, schedule=lambda _t, _e: RANDOM)
    whole = rollout("cheetah-vel", [0, 1, 2], [], None, 0, **kw)
    grouped = rollout("cheetah-vel", [0, 1, 2], [], None, 0, max_envs=2, **kw)
    assert [(e.task_id, e.seed, e.length) for e in whole] == [(e.task_id, e.seed, e.length) for e in grouped]
    assert [e.length for e in whole if e.task_id == 0] == [10, 10, 5]  # the budget cuts the last episode
    for a, b in zip(whole, grouped, strict=True):
        np.testing.assert_array_equal(np.asarray(a.observations), np.asarray(b.observations))
        assert a.truncations[-1] and not any(a.terminations)


def test_wheel_ships_manifest_and_snapshots(tmp_path):
    """A non-editable install has no checkout: the wheel must carry datasets/ (see setup.py)."""
    import subprocess
    import sys
    import zipfile

    pytest.importorskip("setuptools")
    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(repo),
                    "-w", str(tmp_path)], check=True, cwd=tmp_path, capture_output=True)
    names = set(zipfile.ZipFile(next(tmp_path.glob("smac_bench-*.whl"))).namelist())
    assert "smac_bench/_datasets/manifest.json" in names
    for family in ("cheetah-vel", "ant-dir"):
        assert f"smac_bench/_datasets/snapshots/{family}/index.json" in names
        assert f"smac_bench/_datasets/snapshots/{family}/policy-5.safetensors" in names


def test_harness_refuses_a_custom_build_installed_under_the_benchmark_id(snaps, root):
    from smac_bench.data import minari_io
    from smac_bench.harness.datasets import load_offline_buffer
    from smac_bench.recipes.build import build

    build(CHEETAH, task_ids=[0, 1], transitions_per_task=12, snapshots=snaps)
    assert minari_io.read_metadata(CHEETAH)["smac_bench"]["custom"]["task_ids"] == [0, 1]
    with pytest.raises(UserError, match="custom build.*smac-bench datasets build"):
        load_offline_buffer("cheetah-vel", "cpu")
