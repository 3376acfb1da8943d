"""Read everything a report needs from a results store, read-only, into one plain object.

The report never writes to the store and never needs the search package (pymoo) or TensorFlow:
it reads the ``meta``, ``evaluations`` and ``generations`` tables and the optional ``finetune`` and
``full_set`` tables through one read-only :class:`fmas_hw.store.Store`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..space import Arch, arch_from_dict, get_space
from ..store import EvaluationRecord, FinetuneRow, FullSetRow, GenerationRecord, Store
from ..store.front import Limits, archive_front, hypervolume_by_generation


@dataclass
class SearchData:
    """A search as the report sees it.

    Attributes:
        store_path: the store file.
        config: the resolved search config saved in the store (``meta.config``).
        backbone: 'xception' or 'mobilenetv2'.
        objectives: the cost objectives of the search, e.g. ``("flops",)``.
        reference_point: hypervolume reference point (normalised objective space).
        evaluations: every evaluation of this search, by architecture key.
        generations: the generation records, in order.
        finetune: fine-tuning rows by architecture key (empty before ``fmas-hw finetune``).
        full_set: full-validation-set scores without fine-tuning by architecture key (empty
            before ``fmas-hw report --full-set``).
        supernet_key: architecture key of the supernet.
        scale: the supernet's cost per objective, which normalises the hypervolume (empty in a
            store whose supernet was never scored).
        finetune_weights: the weights ``fmas-hw finetune`` started from (``path``, ``hash`` and
            ``search``: whether they are the search's); empty before fine-tuning.
        device: where the latest run of the search scored accuracy (empty in a store written
            before the device was recorded).
    """

    store_path: Path
    config: dict[str, Any]
    backbone: str
    objectives: tuple[str, ...]
    reference_point: list[float]
    evaluations: dict[str, EvaluationRecord]
    generations: list[GenerationRecord]
    finetune: dict[str, FinetuneRow] = field(default_factory=dict)
    full_set: dict[str, FullSetRow] = field(default_factory=dict)
    supernet_key: str = ""
    scale: dict[str, float] = field(default_factory=dict)
    finetune_weights: dict[str, Any] = field(default_factory=dict)
    device: str = ""

    @property
    def input_size(self) -> int:
        """The input size the search counted FLOPs at (its resolved config; the space's default)."""
        return int(self.config.get("input_size") or get_space(self.backbone).default_input_size)

    @property
    def limits(self) -> Limits:
        """The objectives and budgets that decide which evaluations compete for the front."""
        return Limits.from_config(self.config)

    @cached_property
    def final_front(self) -> list[str]:
        """Keys of the search's feasible Pareto front: the non-dominated set of every evaluation
        (the archive), not only of the last population."""
        return [r.arch_key for r in archive_front(self.evaluations.values(), self.limits)]

    @cached_property
    def archive_hypervolume(self) -> list[float]:
        """Hypervolume of the archive's front over the candidates asked for up to each generation."""
        return hypervolume_by_generation(self.evaluations.values(), self.limits, self.scale,
                                         self.reference_point, len(self.generations))

    def archive_front_size(self, gen: int) -> int:
        """Members of the archive's front over the candidates asked for up to generation ``gen``."""
        rows = [r for r in self.evaluations.values() if r.generation is not None and r.generation <= gen]
        return len(archive_front(rows, self.limits))

    def first_generation(self, key: str) -> int | None:
        """The generation in which ``key`` was first asked for (None: never asked)."""
        record = self.evaluations.get(key)
        if record is not None and record.generation is not None:
            return record.generation
        for gen in self.generations:
            if any(k == key for _, k in gen.asked):
                return gen.gen
        return None

    def cumulative_seconds(self, gen: int | None) -> float | None:
        """Device seconds spent in generations 0..``gen`` (None when unknown)."""
        if gen is None or not 0 <= gen < len(self.generations):
            return None
        return self.generations[gen].cumulative_seconds

    def arch(self, key: str, genome: str) -> Arch:
        """The architecture of ``key``: from its stored evaluation, else decoded from ``genome``."""
        record = self.evaluations.get(key)
        if record is not None:
            return arch_from_dict(self.backbone, record.arch)
        return get_space(self.backbone).decode(genome)


def load(store_path: str | Path) -> SearchData:
    """Read a results store for a report.

    Args:
        store_path: the ``.sqlite`` file written by ``fmas-hw search``.

    Returns:
        The :class:`SearchData`.

    Raises:
        StoreError: missing file, not an fmas-hw store, damaged, no config, or no finished
            generation yet.
    """
    path = Path(store_path)
    with Store.open(path, writable=False) as store:
        meta = store.meta()
        records = {r.arch_key: r for r in store.search_evaluations()}
        generations = store.generations()
        finetune = {row.arch_key: row for row in store.finetune.rows()}
        full_set = {row.arch_key: row for row in store.full_set.rows()}
    config = meta.get("config") or {}
    if "backbone" not in config:
        raise StoreError(f"store {path} holds no search config: was it written by `fmas-hw search`?")
    if not generations:
        raise StoreError(f"store {path} has no finished generation yet: nothing to report "
                         "(wait for the first generation, or resume the search with --resume)")
    backbone = config["backbone"]
    return SearchData(
        store_path=path, config=config, backbone=backbone,
        objectives=tuple(config.get("objectives") or ("flops",)),
        reference_point=list(meta.get("reference_point") or []),
        evaluations=records, generations=generations, finetune=finetune, full_set=full_set,
        supernet_key=get_space(backbone).supernet().key, scale=dict(meta.get("scale") or {}),
        finetune_weights=dict(meta.get("finetune_weights") or {}), device=str(meta.get("device") or ""),
    )
