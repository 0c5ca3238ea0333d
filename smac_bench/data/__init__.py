"""smac-bench offline datasets: Minari datasets of the training tasks, and the multi-task buffer.

Public API (used by agents and the harness)::

    from smac_bench.data import DATASETS, ensure_dataset, load_buffer, reference_scores
    ensure_dataset(DATASETS["cheetah-vel"])          # builds from shipped snapshots if missing
    buffer = load_buffer(DATASETS["cheetah-vel"])    # MultiTaskBuffer, one slot per training task
    lo, hi = reference_scores(DATASETS["cheetah-vel"])

The data layer never imports a learner: :func:`ensure_dataset` reaches the recipes (numpy
rollouts of shipped snapshots) lazily, only when a dataset has to be built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smac_bench.errors import UserError

if TYPE_CHECKING:
    from smac_bench.data.buffer import MultiTaskBuffer

# family name -> dataset id
DATASETS: dict[str, str] = {
    "cheetah-vel": "smac-bench/cheetah-vel/mixed-v0",
    "ant-dir": "smac-bench/ant-dir/mixed-v0",
    "sawyer-manip": "smac-bench/sawyer-manip/scripted-v0",
}


def known_ids() -> list[str]:
    """Every dataset id smac-bench can build or download."""
    from smac_bench.recipes import RECIPES

    return sorted(set(DATASETS.values()) | set(RECIPES))


def resolve(name: str) -> str:
    """A dataset id from a family name (``cheetah-vel``) or an id; :class:`UserError` listing the known ones."""
    if name in DATASETS:
        return DATASETS[name]
    ids = known_ids()
    if name in ids:
        return name
    raise UserError(f"unknown dataset {name!r}: choose one of {', '.join(ids)} (or a family: "
                    f"{', '.join(DATASETS)})")


def family_of(dataset_id: str) -> str:
    """The task family a smac-bench id is for: ``smac-bench/<family>/<name>-v<k>``."""
    parts = dataset_id.split("/")
    if len(parts) != 3 or parts[0] != "smac-bench":
        raise UserError(f"{dataset_id!r} is not a smac-bench dataset id (smac-bench/<family>/<name>-v<k>)")
    return parts[1]


def ensure_dataset(dataset_id: str, progress: bool = True) -> None:
    """Make sure ``dataset_id`` is installed locally, building it from shipped snapshots if not.

    ``hf://...`` ids are fetched with Minari's own downloader instead.
    """
    from smac_bench.data import minari_io

    if dataset_id.startswith("hf://"):
        from smac_bench.data.mirror import download

        download(dataset_id, progress=progress)
        return
    dataset_id = resolve(dataset_id)
    if minari_io.is_installed(dataset_id):
        return
    from smac_bench.recipes.build import build

    build(dataset_id, progress=progress)


def dataset_metadata(dataset_id: str) -> dict[str, Any]:
    """The dataset's ``metadata.json`` (Minari fields plus the ``smac_bench`` block)."""
    from smac_bench.data import minari_io

    return minari_io.read_metadata(resolve_installed(dataset_id))


def resolve_installed(dataset_id: str) -> str:
    """``resolve`` for ids we know; any other installed Minari id is passed through."""
    from smac_bench.data import minari_io

    try:
        return resolve(dataset_id)
    except UserError:
        if minari_io.is_installed(dataset_id):
            return dataset_id
        raise


def reference_scores(dataset_id: str) -> tuple[float, float]:
    """``(ref_min_score, ref_max_score)``: random and task-aware-expert returns on the test tasks."""
    meta = dataset_metadata(dataset_id)
    if meta.get("ref_min_score") is None or meta.get("ref_max_score") is None:
        raise UserError(f"dataset {dataset_id} has no reference scores in its metadata: rebuild it with "
                        f"`smac-bench datasets build {dataset_id}`")
    return float(meta["ref_min_score"]), float(meta["ref_max_score"])


def load_buffer(dataset_id: str, device: str = "cpu") -> MultiTaskBuffer:
    """Read a dataset in bulk (h5py) into a :class:`~smac_bench.data.buffer.MultiTaskBuffer`.

    Checks that the dataset was made for the family its id names (a foreign dataset copied
    into the wrong folder is a :class:`UserError`, not silently wrong training data).
    """
    from smac_bench.data import minari_io
    from smac_bench.data.buffer import MultiTaskBuffer
    from smac_bench.data.checks import check_family, load_checked_arrays

    dataset_id = resolve_installed(dataset_id)
    check_family(dataset_id, minari_io.read_metadata(dataset_id))
    a = load_checked_arrays(dataset_id)
    return MultiTaskBuffer.from_arrays(a["obs"], a["actions"], a["rewards"][:, None], a["next_obs"],
                                       a["terminals"][:, None], a["task_ids"], device=device)


__all__ = ["DATASETS", "dataset_metadata", "ensure_dataset", "load_buffer", "reference_scores", "resolve"]
