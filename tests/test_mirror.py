"""Publish to a mirror and download back over a real HTTP server on 127.0.0.1 (cuts, resume, tampering, HTML)."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from smac_bench.errors import UserError

CHEETAH = "smac-bench/cheetah-vel/mixed-v0"


def _random_snapshots(folder: Path) -> Path:
    """Two untrained actors and an index: enough behaviour for a tiny dataset, no training."""
    from smac_bench.algos.sac import SACConfig, TaskAwareSAC

    folder.mkdir(parents=True)
    low, high = -1.0 * __import__("numpy").ones(6), __import__("numpy").ones(6)
    files = []
    for i in range(2):
        agent = TaskAwareSAC(18, 6, low, high, SACConfig(hidden=(8,)), seed=i)
        agent.snapshot(str(folder / f"policy-{i}.safetensors"), {"family": "cheetah-vel", "env_steps": i})
        files.append({"file": f"policy-{i}.safetensors", "env_steps": i, "test_return": -300.0 + i})
    (folder / "index.json").write_text(json.dumps({
        "algorithm": "untrained", "snapshots": files, "ref_min_score": -340.0, "ref_max_score": -299.0}))
    return folder


class Server:
    """A threading HTTP server over a folder with Range support and switchable misbehaviour."""

    def __init__(self, folder: Path):
        self.folder, self.cut_next, self.html, self.ranges = folder, 0, False, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                server.ranges.append(self.headers.get("Range"))
                if server.html:
                    body = b"<!DOCTYPE html><html><body>Sign in</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                path = server.folder / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                if server.cut_next:  # send part of the body, then drop the connection
                    server.cut_next -= 1
                    self.wfile.write(data[start : start + (len(data) - start) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(data[start:])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def published(tmp_path, monkeypatch):
    """A tiny dataset built in one root and published to ``mirror/``; returns (mirror, entry)."""
    from smac_bench.data.minari_io import minari_root
    from smac_bench.data.mirror import publish
    from smac_bench.recipes.build import build

    monkeypatch.setenv("SMAC_BENCH_MANIFEST", str(tmp_path / "manifest.json"))
    monkeypatch.delenv("SMAC_BENCH_MIRROR", raising=False)
    snaps = _random_snapshots(tmp_path / "snaps")
    with minari_root(tmp_path / "builder"):
        build(CHEETAH, snapshots=snaps, task_ids=[0, 1], transitions_per_task=40, max_episode_steps=20)
        entry = publish(CHEETAH, tmp_path / "mirror")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "user"))
    return tmp_path / "mirror", entry


@pytest.fixture()
def server(published):
    s = Server(published[0])
    yield s
    s.close()


def _installed_ok(entry) -> bool:
    from smac_bench.data import minari_io
    from smac_bench.data.manifest import file_checksums

    return minari_io.is_installed(CHEETAH) and file_checksums(minari_io.dataset_dir(CHEETAH)) == entry["files"]


def test_publish_writes_archive_and_manifests(published, tmp_path):
    mirror, entry = published
    assert (mirror / entry["archive"]).stat().st_size == entry["archive_size"]
    assert json.loads((mirror / "manifest.json").read_text())["datasets"][CHEETAH]["sha256"] == entry["sha256"]
    assert json.loads((tmp_path / "manifest.json").read_text())["datasets"][CHEETAH] == entry


def test_http_download_resumes_after_cut(server, published):
    from smac_bench.data import load_buffer
    from smac_bench.data.mirror import download

    server.cut_next = 1
    download("cheetah-vel", server.url)
    assert _installed_ok(published[1])
    assert server.ranges[0] is None and server.ranges[1].startswith("bytes=")  # second request resumed
    assert load_buffer(CHEETAH).sizes.tolist() == [40, 40]


def test_resume_across_invocations_and_mirror_env(server, published, monkeypatch):
    from smac_bench.data import minari_io
    from smac_bench.data.mirror import download

    server.cut_next = 1
    monkeypatch.setenv("SMAC_BENCH_MIRROR", server.url)
    with pytest.raises(UserError, match="interrupted.*run the same command again"):
        download(CHEETAH, retries=0)
    assert not minari_io.dataset_dir(CHEETAH).exists()  # no half dataset
    assert list((minari_io.datasets_root() / ".downloads").glob("*.part"))
    download(CHEETAH, retries=0)
    assert server.ranges[-1].startswith("bytes=") and _installed_ok(published[1])
    assert not list((minari_io.datasets_root() / ".downloads").glob("*.part"))


def test_tampered_archive_keeps_nothing_and_keeps_good_copy(server, published):
    from smac_bench.data import minari_io
    from smac_bench.data.mirror import download

    mirror, entry = published
    download(CHEETAH, server.url)
    archive = mirror / entry["archive"]
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(UserError, match="checksum mismatch"):
        download(CHEETAH, server.url, force=True)
    assert _installed_ok(entry)  # the good copy is untouched
    assert not list((minari_io.datasets_root() / ".downloads").glob("*.part"))


def test_html_page_and_404_are_user_errors(server, published):
    from smac_bench.data import minari_io
    from smac_bench.data.mirror import download

    server.html = True
    with pytest.raises(UserError, match="HTML page"):
        download(CHEETAH, server.url)
    assert not minari_io.dataset_dir(CHEETAH).exists()
    server.html = False
    with pytest.raises(UserError, match="HTTP 404"):
        download(CHEETAH, server.url + "/nowhere")


def test_file_mirror_and_already_installed(published):
    from smac_bench.data.mirror import download

    mirror, entry = published
    download(CHEETAH, mirror.as_uri())
    assert _installed_ok(entry)
    download(CHEETAH, "file:///does/not/exist")  # identical copy present: nothing to do


def test_bad_names_and_missing_mirror(published):
    from smac_bench.data.mirror import download

    with pytest.raises(UserError, match="unknown dataset.*smac-bench/ant-dir/mixed-v1"):
        download("walker", "http://127.0.0.1:1")
    with pytest.raises(UserError, match="no published archive"):
        download("ant-dir", "http://127.0.0.1:1")
    with pytest.raises(UserError, match="no mirror given"):
        download(CHEETAH)


def test_hf_ids_go_to_minari(monkeypatch, published):
    import minari

    from smac_bench.data.mirror import download

    calls = []
    monkeypatch.setattr(minari, "download_dataset", lambda dataset_id: calls.append(dataset_id))
    download("hf://farama-minari/D4RL/door/human-v2")
    assert calls == ["hf://farama-minari/D4RL/door/human-v2"]
