"""Publishing datasets to a mirror and downloading them back: archives, resume, checksums.

A mirror is any static file server (HTTP(S) or a ``file://`` folder) holding what ``publish``
writes: ``<archive>.tar.gz`` (the Minari dataset folder) and a ``manifest.json``. Downloads are
checked against the manifest shipped with smac-bench, never the mirror's own copy, and are
installed only after every checksum matches, by renaming a fully extracted folder into place:
a failed, cut or tampered download leaves nothing behind and never replaces a good dataset.
Interrupted downloads resume from the ``.part`` file with an HTTP ``Range`` request.
"""

from __future__ import annotations

import errno
import gzip
import os
import shutil
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPException
from pathlib import Path
from typing import Any

from smac_bench.data import minari_io
from smac_bench.data.manifest import (
    file_checksums,
    manifest_entry,
    read_manifest,
    sha256_file,
    update_manifest,
)
from smac_bench.errors import UserError
from smac_bench.utils.progress import Counter, ProgressFn

MIRROR_ENV = "SMAC_BENCH_MIRROR"
CHUNK = 1 << 16
USER_AGENT = "smac-bench-datasets/1"


def archive_name(dataset_id: str) -> str:
    """``smac-bench/cheetah-vel/mixed-v0`` -> ``smac-bench--cheetah-vel--mixed-v0.tar.gz``."""
    return dataset_id.replace("/", "--") + ".tar.gz"


# ---------------------------------------------------------------------------------------- publish
def make_archive(dataset_id: str, out_path: str | Path) -> Path:
    """Write the dataset folder as a reproducible ``.tar.gz`` (sorted, zero mtimes/owners), atomically."""
    folder = minari_io.dataset_dir(dataset_id)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for path in sorted(folder.rglob("*")):
                info = tar.gettarinfo(str(path), arcname=f"{dataset_id}/{path.relative_to(folder).as_posix()}")
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                info.mode = 0o755 if path.is_dir() else 0o644
                if path.is_file():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


def publish(dataset_id: str, to: str | Path, manifest_path: str | Path | None = None) -> dict[str, Any]:
    """Archive an installed dataset into folder ``to`` and record it in both manifests.

    Writes ``to/<archive>``, merges the entry into ``to/manifest.json`` (what the mirror serves)
    and into the shipped manifest (``manifest_path``, default ``datasets/manifest.json``), which
    downloads are verified against. Refuses a dataset that fails :func:`~smac_bench.data.checks.verify`.
    """
    from smac_bench.data import family_of
    from smac_bench.data.checks import verify

    report = verify(dataset_id, checksums=False)
    if report.problems:
        raise UserError(f"refusing to publish {dataset_id}: {report.problems[0]}")
    meta = minari_io.read_metadata(dataset_id)
    out = make_archive(dataset_id, Path(to) / archive_name(dataset_id))
    entry = {
        "name": family_of(dataset_id),
        "family": family_of(dataset_id),
        "version": int(dataset_id.rsplit("-v", 1)[1]),
        "archive": out.name,
        "archive_size": out.stat().st_size,
        "sha256": sha256_file(out),
        "files": file_checksums(minari_io.dataset_dir(dataset_id)),
        "total_episodes": int(meta["total_episodes"]),
        "total_steps": int(meta["total_steps"]),
    }
    update_manifest(dataset_id, entry, Path(to) / "manifest.json")
    update_manifest(dataset_id, entry, manifest_path)
    return entry


# ---------------------------------------------------------------------------------------- download
def _mirror_url(mirror: str | None) -> str:
    url = mirror or os.environ.get(MIRROR_ENV)
    if not url:
        raise UserError(f"no mirror given: pass --mirror URL or set {MIRROR_ENV} "
                        "(or build the dataset locally with `smac-bench datasets build NAME`)")
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("http", "https", "file"):
        raise UserError(f"mirror {url!r} must be an http://, https:// or file:// URL")
    return url.rstrip("/")


def _looks_like_html(first: bytes, content_type: str = "") -> bool:
    head = first[:512].lstrip().lower()
    return content_type.lower().startswith("text/html") or head.startswith((b"<!doctype html", b"<html"))


def _html_error(url: str) -> UserError:
    return UserError(f"the mirror returned an HTML page for {url}, not the dataset archive (wrong URL, or an "
                     f"error/login page): check --mirror / {MIRROR_ENV} points at a folder written by "
                     "`smac-bench datasets publish`")


def _fetch(url: str, part: Path, size: int, bar: Counter) -> None:
    """Append the rest of ``url`` to ``part`` (HTTP Range from its current size). Raises on a cut."""
    offset = part.stat().st_size if part.exists() else 0
    if url.startswith("file://"):
        src = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        if not src.is_file():
            raise UserError(f"the mirror has no file {src}: check the mirror folder, or publish to it with "
                            "`smac-bench datasets publish NAME --to DIR`")
        with open(src, "rb") as f:
            if offset == 0 and _looks_like_html(f.read(512)):
                raise _html_error(url)
            f.seek(offset)
            with open(part, "ab") as out:
                while block := f.read(CHUNK):
                    out.write(block)
                    bar.update(len(block))
        return
    headers = {"User-Agent": USER_AGENT, **({"Range": f"bytes={offset}-"} if offset else {})}
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset >= size:  # we already hold every byte
            return
        if exc.code == 416:
            part.unlink(missing_ok=True)
            raise ConnectionError("server refused to resume; restarting from the beginning") from None
        raise UserError(f"the mirror answered HTTP {exc.code} for {url}: check the mirror URL, or that it holds "
                        "the archive (`smac-bench datasets publish NAME --to DIR`)") from None
    with resp:
        if offset and resp.status != 206:  # server ignored the Range header: start again
            offset = 0
            part.unlink(missing_ok=True)
            bar.reset(total=size)
        first = True
        with open(part, "ab") as out:
            while block := resp.read(CHUNK):
                if first and offset == 0 and _looks_like_html(block, resp.headers.get("Content-Type", "")):
                    out.close()
                    part.unlink(missing_ok=True)
                    raise _html_error(url)
                first = False
                out.write(block)
                bar.update(len(block))
    got = part.stat().st_size
    if got < size:
        raise ConnectionError(f"connection closed after {got} of {size} bytes")


def download(name: str, mirror: str | None = None, *, progress: ProgressFn | None = None, force: bool = False,
             retries: int = 3, manifest_path: str | Path | None = None) -> Path:
    """Fetch, verify and install a dataset from a mirror; returns its installed folder.

    ``name`` is a family, a smac-bench id, or an ``hf://...`` id (handed to Minari's downloader).
    A cut connection is retried ``retries`` times, each resuming where the last stopped; after
    that the ``.part`` file stays so running the same command again resumes too.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise UserError(f"retries must be a whole number >= 0, not {retries!r}")
    if name.startswith("hf://"):
        return _download_minari(name)
    from smac_bench.data import resolve

    dataset_id = resolve(name)
    entry = manifest_entry(dataset_id, manifest_path)
    if entry is None:
        published = ", ".join(read_manifest(manifest_path)["datasets"]) or "none yet"
        raise UserError(f"{dataset_id} has no published archive in the manifest (published: {published}); "
                        f"build it locally with `smac-bench datasets build {dataset_id}`")
    if not force and minari_io.is_installed(dataset_id) and _files_match(minari_io.dataset_dir(dataset_id), entry):
        return minari_io.dataset_dir(dataset_id)
    url = f"{_mirror_url(mirror)}/{entry['archive']}"
    downloads = minari_io.datasets_root() / ".downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    part = downloads / f"{entry['archive']}.{entry['sha256'][:12]}.part"  # never resume another version
    size = int(entry["archive_size"])
    if part.exists() and part.stat().st_size > size:
        part.unlink()
    bar = Counter(progress, f"download {dataset_id}", size, "B", initial=part.stat().st_size if part.exists() else 0)
    for attempt in range(retries + 1):
        try:
            _fetch(url, part, size, bar)
            break
        except (ConnectionError, TimeoutError, HTTPException, urllib.error.URLError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                free = shutil.disk_usage(downloads).free
                raise UserError(f"the disk is full ({free} bytes free in {downloads}; the archive needs {size}): "
                                "free space, then run the same command again to resume") from None
            if attempt == retries:
                have = part.stat().st_size if part.exists() else 0
                if have == 0:
                    raise UserError(f"could not download {url} ({exc}): check that the mirror URL is right "
                                    "and reachable") from None
                raise UserError(f"download of {url} interrupted at {have} of {size} bytes ({exc}); run the "
                                "same command again to resume") from None
            time.sleep(min(0.2 * 2**attempt, 2.0))
    digest = sha256_file(part)
    if part.stat().st_size != size or digest != entry["sha256"]:
        part.unlink(missing_ok=True)
        raise UserError(f"checksum mismatch for {url}: sha256 {digest} != {entry['sha256']} in the manifest; the "
                        "archive is corrupt or was tampered with, so nothing was installed (try another mirror)")
    folder = install_archive(part, dataset_id, entry)
    part.unlink(missing_ok=True)
    return folder


def _files_match(folder: Path, entry: dict[str, Any]) -> bool:
    return file_checksums(folder) == entry.get("files")


def install_archive(archive: str | Path, dataset_id: str, entry: dict[str, Any]) -> Path:
    """Extract a verified archive into a staging folder, check every file, then rename it into place."""
    stage = minari_io.staging_dir()
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for m in tar.getmembers():
                    if not m.name.startswith(f"{dataset_id}/") or ".." in m.name.split("/") or not (
                            m.isfile() or m.isdir()):
                        raise UserError(f"{archive} holds an unexpected entry {m.name!r}: not a {dataset_id} "
                                        "archive; nothing was installed")
                tar.extractall(stage, filter="data")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise UserError(f"{archive} is not a readable .tar.gz ({exc}); nothing was installed") from None
        folder = stage / dataset_id
        if entry.get("files") and not _files_match(folder, entry):
            raise UserError(f"files inside {archive} do not match the manifest's checksums; nothing was installed")
        minari_io.install_dir(folder, dataset_id)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return minari_io.dataset_dir(dataset_id)


def _download_minari(dataset_id: str) -> Path:
    """``hf://org/...`` ids go to Minari's own downloader (needs network and huggingface_hub)."""
    import minari

    try:
        minari.download_dataset(dataset_id)
    except Exception as exc:  # Minari raises many types (ValueError, hub errors, ImportError)
        raise UserError(f"Minari could not download {dataset_id}: {exc}") from None
    return minari_io.datasets_root() / dataset_id.split("://", 1)[1].split("/", 1)[1]
