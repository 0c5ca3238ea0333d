"""A damaged installed dataset is caught when it is opened for training, with the commands that repair it."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from test_data_build import CHEETAH, _build, root, snaps  # noqa: F401  (fixtures)

from smac_bench.errors import UserError


def test_garbage_bytes_in_a_published_build_fail_the_checksum(snaps, root, tmp_path):  # noqa: F811
    from smac_bench.data import load_buffer, minari_io
    from smac_bench.data.mirror import publish

    _build(snaps)
    publish(CHEETAH, tmp_path / "mirror")  # the (tmp) manifest now holds this build's checksums
    assert load_buffer(CHEETAH).sizes.sum() > 0
    h5 = minari_io.hdf5_path(CHEETAH)
    data = bytearray(h5.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64  # same size, garbage in the middle
    h5.write_bytes(bytes(data))
    with pytest.raises(UserError, match="does not match its sha256.*datasets verify.*datasets build"):
        load_buffer(CHEETAH)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_numbers_are_refused_before_training(snaps, root, value):  # noqa: F811
    from smac_bench.data import load_buffer, minari_io

    _build(snaps)  # not published: no checksum to compare, so the numbers themselves are checked
    with h5py.File(minari_io.hdf5_path(CHEETAH), "a") as f:
        f["episode_1/observations"][3, 2] = value
    with pytest.raises(UserError, match="non-finite obs .*datasets verify"):
        load_buffer(CHEETAH)


def test_download_refuses_negative_retries():
    from smac_bench.data.mirror import download

    with pytest.raises(UserError, match="retries must be a whole number >= 0"):
        download("cheetah-vel", "file:///nowhere", retries=-1)


def test_a_full_disk_is_named_as_such(tmp_path, monkeypatch):
    import errno
    import json

    from smac_bench.data import mirror

    manifest = tmp_path / "manifest.json"
    entry = {"archive": "a.tar.gz", "archive_size": 10, "sha256": "0" * 64, "files": {}}
    manifest.write_text(json.dumps({"format": 1, "datasets": {CHEETAH: entry}}))
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mirror, "_fetch", full)
    with pytest.raises(UserError, match="the disk is full .*run the same command again to resume"):
        mirror.download(CHEETAH, "file:///nowhere", manifest_path=manifest)


def test_new_versions_record_the_held_out_split_as_minari_eval_env(tmp_path, monkeypatch):
    """``recover_environment(eval_env=True)`` evaluates on the held-out tasks, as the benchmark does (#19)."""
    from types import SimpleNamespace

    import minari

    import smac_bench
    from smac_bench.data import minari_io

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    family = smac_bench.task_family("cheetah-vel")
    env = smac_bench.make_env("cheetah-vel")
    obs, _ = env.reset(seed=0, options={"task_id": 0})
    steps = [env.step(np.zeros(6, np.float32)) for _ in range(3)]
    episode = SimpleNamespace(task_id=0, seed=0, policy=0, observations=[obs] + [s[0] for s in steps],
                              actions=[np.zeros(6, np.float32)] * 3, rewards=[s[1] for s in steps],
                              terminations=[False] * 3, truncations=[False, False, True])
    for dataset_id, split in (("smac-bench/cheetah-vel/tiny-v0", None), ("smac-bench/cheetah-vel/tiny-v1", "test")):
        minari_io.write_dataset(dataset_id, family.env_id, [episode], description="tiny", algorithm_name="zero",
                                ref_min_score=-1.0, ref_max_score=0.0, requirements=[], smac_bench_meta={},
                                eval_split=split)
        eval_env = minari.load_dataset(dataset_id).recover_environment(eval_env=True)
        tasks = {eval_env.reset(seed=s)[1]["task_id"] for s in range(12)}
        assert tasks <= set(family.test_ids if split else family.train_ids), (dataset_id, tasks)


def test_a_build_whose_floats_differ_from_the_published_one_is_a_local_build(snaps, root, tmp_path):  # noqa: F811
    """Another CPU's last bits: the build still trains, says what it is, and is held to its own checksum."""
    from smac_bench.data import load_buffer, minari_io
    from smac_bench.data.checks import record_local_build, verify
    from smac_bench.data.mirror import publish
    from smac_bench.harness.datasets import local_build_of

    _build(snaps)
    publish(CHEETAH, tmp_path / "mirror")
    assert record_local_build(CHEETAH) is None and local_build_of(CHEETAH) is None  # the published bytes
    with h5py.File(minari_io.hdf5_path(CHEETAH), "r+") as f:  # what another CPU's rounding leaves behind
        actions = f["episode_0/actions"]
        actions[0] = np.nextafter(actions[0], np.float32(2))
    record = record_local_build(CHEETAH)
    assert list(record["files"]) == ["data/main_data.hdf5"] and local_build_of(CHEETAH) == record
    assert load_buffer(CHEETAH).sizes.sum() > 0
    report = verify(CHEETAH)
    assert not report.problems and any(line.startswith("a local build") for line in report.ok)
    from typer.testing import CliRunner

    from smac_bench.cli.datasets import app

    assert "yes (local build)" in CliRunner().invoke(app, ["list"]).output
    h5 = minari_io.hdf5_path(CHEETAH)
    data = bytearray(h5.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64
    h5.write_bytes(bytes(data))
    with pytest.raises(UserError, match="does not match the sha256 its local build recorded.*datasets build"):
        load_buffer(CHEETAH)
    assert any("the sha256 its local build recorded" in p for p in verify(CHEETAH).problems)
