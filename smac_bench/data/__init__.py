"""smac-bench offline datasets: Minari datasets of the training tasks, and the multi-task buffer.

Public API (used by agents and the harness), on datasets that are installed::

    from smac_bench.data import load_buffer, reference_scores, resolve
    dataset_id = resolve("cheetah-vel")              # the family's id, from its FamilySpec
    buffer = load_buffer(dataset_id)                 # MultiTaskBuffer, one slot per training task
    lo, hi = reference_scores(dataset_id)

The data layer imports nothing above ``envs``: building a missing dataset is the recipes' work,
and the harness asks for it (:func:`smac_bench.harness.datasets.ensure_dataset`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smac_bench.envs import FAMILIES
from smac_bench.errors import UserError

if TYPE_CHECKING:
    from smac_bench.data.buffer import MultiTaskBuffer


def known_ids() -> list[str]:
    """Every dataset id smac-bench can build or download: one per task family."""
    return sorted(spec.dataset_id for spec in FAMILIES.values())


def resolve(name: str) -> str:
    """A dataset id from a family name (``cheetah-vel``) or an id; :class:`UserError` listing the known ones."""
    if name in FAMILIES:
        return FAMILIES[name].dataset_id
    ids = known_ids()
    if name in ids:
        return name
    raise UserError(f"unknown dataset {name!r}: choose one of {', '.join(ids)} (or a family: "
                    f"{', '.join(FAMILIES)})")


def family_of(dataset_id: str) -> str:
    """The task family a smac-bench id is for: ``smac-bench/<family>/<name>-v<k>``."""
    parts = dataset_id.split("/")
    if len(parts) != 3 or parts[0] != "smac-bench":
        raise UserError(f"{dataset_id!r} is not a smac-bench dataset id (smac-bench/<family>/<name>-v<k>)")
    return parts[1]


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


def standing_score(dataset_id: str) -> float | None:
    """Test return of standing still (zero actions), where the dataset records one (ant-dir: +1 a healthy
    step makes standing a trap that a slow walker does not beat); ``None`` otherwise."""
    value = dataset_metadata(dataset_id).get("smac_bench", {}).get("standing_score")
    return None if value is None else float(value)


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


__all__ = ["dataset_metadata", "family_of", "known_ids", "load_buffer", "reference_scores", "resolve",
           "standing_score"]
