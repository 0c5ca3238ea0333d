"""Dataset provisioning for runs: the family's offline dataset, built or downloaded when missing.

This lives in the harness, not the data layer: building a dataset means rolling out behaviour
policies (``recipes``), and the data layer imports nothing above itself. A run asks for its
family's dataset here; ``smac-bench datasets build`` calls the recipes directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smac_bench.envs import family_spec
from smac_bench.errors import UserError
from smac_bench.utils.progress import ProgressFn

if TYPE_CHECKING:
    from smac_bench.data.buffer import MultiTaskBuffer


def dataset_id_of(env: str) -> str:
    """The offline dataset of task family ``env`` (:class:`UserError` for an unknown family)."""
    return family_spec(env).dataset_id


def ensure_dataset(dataset_id: str, progress: ProgressFn | None = None) -> None:
    """Make sure ``dataset_id`` (an id or a family name) is installed, building it from the shipped
    snapshots if not. ``hf://...`` ids are fetched with Minari's own downloader instead."""
    from smac_bench.data import minari_io, resolve

    if dataset_id.startswith("hf://"):
        from smac_bench.data.mirror import download

        download(dataset_id, progress=progress)
        return
    dataset_id = resolve(dataset_id)
    if minari_io.is_installed(dataset_id):
        return
    from smac_bench.recipes.build import build

    build(dataset_id, progress=progress)


def prepare_dataset(env: str, progress: ProgressFn | None = None) -> str:
    """``ensure_dataset`` for family ``env``'s dataset; returns its id."""
    dataset_id = dataset_id_of(env)
    ensure_dataset(dataset_id, progress=progress)
    return dataset_id


def reference_scores(dataset_id: str | None) -> dict[str, float] | None:
    """``{"random", "expert"}`` returns of the dataset's reference policies (and ``"standing"`` where the
    dataset records standing still), or ``None`` if unknown."""
    if dataset_id is None:
        return None
    try:
        from smac_bench.data import reference_scores as dataset_reference_scores
        from smac_bench.data import standing_score

        lo, hi = dataset_reference_scores(dataset_id)
        standing = standing_score(dataset_id)
        return {"random": float(lo), "expert": float(hi), **({} if standing is None else {"standing": standing})}
    except (KeyError, ValueError, OSError, UserError):
        return None


def local_build_of(dataset_id: str | None) -> dict[str, Any] | None:
    """The installed ``dataset_id``'s local-build record (its bytes differ from the published build's on this
    CPU: :func:`smac_bench.data.checks.record_local_build`), or ``None``."""
    if dataset_id is None:
        return None
    from smac_bench.data import minari_io
    from smac_bench.data.checks import local_build

    try:
        return local_build(minari_io.read_metadata(dataset_id))
    except UserError:  # not installed: the run was handed its buffer
        return None


def load_offline_buffer(env: str, device: str, progress: ProgressFn | None = None,
                        ) -> tuple[MultiTaskBuffer, str, dict[str, float] | None]:
    """Build/download the family's dataset if missing and load it; returns ``(buffer, id, ref scores)``.

    A custom build (a task subset, fewer transitions...) installed under the benchmark's id is
    refused: numbers trained on it would not be the benchmark's.
    """
    from smac_bench.data import dataset_metadata, load_buffer

    dataset_id = prepare_dataset(env, progress)
    custom = dataset_metadata(dataset_id).get("smac_bench", {}).get("custom")
    if custom:
        raise UserError(f"the installed {dataset_id} is a custom build ({custom}), not the benchmark's dataset: "
                        f"rebuild it with `smac-bench datasets build {dataset_id}`")
    return load_buffer(dataset_id, device), dataset_id, reference_scores(dataset_id)
