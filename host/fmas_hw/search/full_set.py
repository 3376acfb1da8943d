"""Score the final front on the full validation set, without fine-tuning (what ``report --full-set`` runs).

The search ranks candidates by their error on the first ``val_fraction`` of ``val.txt``. To check
that proxy for the whole final front, not only the few that ``fmas-hw finetune`` trains, this
module rebuilds the search's own scoring from the store's config (the same weights, input size,
classes, width and preprocessing, see
:func:`~fmas_hw.search.supernet_evaluator.build_subset_evaluator`) over the WHOLE validation set,
decoded once, and scores the supernet and every final-front member with one forward pass each.
Each score is committed to the store's ``full_set`` table as soon as it is known, so an
interrupted run resumes with the next member and a second run evaluates nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, StoreError
from ..space import Arch, arch_from_dict, get_space
from ..store import FullSetRow, Store
from ..store.front import stored_front
from .config import SearchConfig, file_hash
from .stored_config import stored_config


@dataclass(frozen=True)
class FrontMember:
    """A candidate to score: the supernet or a final-front member, with its subset error.

    Attributes:
        key: canonical architecture key.
        genome: its genome bit string.
        arch: the architecture.
        subset_error: the search's error on the validation subset (None when not stored).
    """

    key: str
    genome: str
    arch: Arch
    subset_error: float | None


def score_front_full_set(store_path: str | Path, log: Callable[[str], None] = print) -> list[FullSetRow]:
    """Score the supernet and every final-front member on the full validation set; store the rows.

    Members that already have a row are skipped (resumable); the supernet and the data load
    only when there is work.

    Args:
        store_path: a store written by ``fmas-hw search`` with the built-in evaluator.
        log: receives one line saying how many are evaluated, then one line per member scored.

    Returns:
        The ``full_set`` rows of the supernet and the final front (stored ones too), supernet
        first, then by ascending subset error.

    Raises:
        StoreError: the store is missing, unreadable, written by another process, or has no
            finished generation.
        ConfigError: the store records no supernet weights or no data (a custom evaluator or
            ``--random-init`` scored it), or its weights file is gone or changed since the search.
        WeightsError / DataError: the recorded weights or data cannot be read.
    """
    config = stored_config(store_path)
    with Store.open(store_path, writable=True) as store:
        data = _check_scorable(config, store.meta(), store.path)
        members = front_members(store, config.backbone)
        done = {r.arch_key: r for r in store.full_set.rows()}
        todo = [m for m in members if m.key not in done]
        log(f"full-set scoring: evaluating {len(todo)} of {len(members)} (the supernet and the final front) "
            f"on the whole validation set, {len(members) - len(todo)} already scored")
        if todo:
            _score_all(config, data, todo, store, done, log)
        return [done[m.key] for m in members]


def front_members(store: Store, backbone: str) -> list[FrontMember]:
    """The supernet, then the search's front (of everything it evaluated) by ascending subset error.

    Raises:
        StoreError: the store has no finished generation.
    """
    generations = store.generations()
    if not generations:
        raise StoreError(f"{store.path} holds no finished generation: run (or resume) the search first")
    digest = store.meta().get("settings_digest")
    records = {r.arch_key: r for r in store.evaluations("ok") if digest is None or r.settings_digest == digest}
    space = get_space(backbone)
    supernet = space.supernet()
    found = records.get(supernet.key)
    members = [FrontMember(supernet.key, space.supernet_genome, supernet, None if found is None else found.error)]
    front = [r for r in stored_front(store) if r.arch_key != supernet.key]
    for r in sorted(front, key=lambda r: (r.error if r.error is not None else float("inf"), r.genome)):
        members.append(FrontMember(r.arch_key, r.genome, arch_from_dict(backbone, r.arch), r.error))
    return members


def _check_scorable(config: SearchConfig, meta: dict[str, Any], path: Path) -> str:
    """The data folder to score on; refuses a store whose subset errors the supernet did not give.

    Raises:
        ConfigError: custom evaluator, random initialisation, no weights or data recorded, or
            weights whose content differs from the search's.
    """
    skip = f"report without --full-set (the report of {path} then shows the subset errors only)"
    if config.evaluator is not None:
        raise ConfigError(f"store {path} was scored by the evaluator {config.evaluator!r}, not by supernet "
                          f"weights: there is nothing to score the full validation set with; {skip}")
    if config.random_init or not config.weights:
        raise ConfigError(f"store {path} records no supernet weights (searched with --random-init): its "
                          "errors came from random weights that were never saved, so no full-set error can "
                          f"be compared with them; search again with --weights FILE, or {skip}")
    settings = meta.get("settings") or {}
    data = settings.get("data") or config.data  # the absolute path, whatever the search's cwd was
    if not data:
        raise ConfigError(f"store {path} records no data set: search again with --data DIR, or {skip}")
    recorded = settings.get("weights_hash")
    if recorded and file_hash(config.weights) != recorded:
        raise ConfigError(f"the weights file {config.weights} changed since the search of {path} (content hash "
                          f"{file_hash(config.weights)}, the search's {recorded}): full-set errors would not "
                          f"be comparable with the subset errors; restore the original file, or {skip}")
    return str(data)


def _score_all(config: SearchConfig, data: str, todo: list[FrontMember], store: Store,
               done: dict[str, FullSetRow], log: Callable[[str], None]) -> None:
    from .supernet_evaluator import build_subset_evaluator  # TensorFlow: only when there is work

    evaluator = build_subset_evaluator(config, 1.0, data)
    for member in todo:
        result = evaluator.evaluate(member.arch)
        row = store.full_set.record(FullSetRow(member.key, member.genome, result.error, result.miou,
                                               result.images, result.seconds))
        done[member.key] = row
        gap = "" if member.subset_error is None else f", gap {100 * (member.subset_error - row.error):+.2f} points"
        subset = "–" if member.subset_error is None else f"{member.subset_error:.4f}"
        log(f"{member.key}: full-set error {row.error:.4f} (subset {subset}{gap}; {row.images} images, "
            f"{row.seconds:.1f} s)")
