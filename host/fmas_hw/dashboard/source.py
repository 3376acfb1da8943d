"""Read a search store for the Optuna mirror: read-only, into plain objects of this package.

The only module of the dashboard that knows the store's records: it opens the store through
:class:`fmas_hw.store.Store` read-only (an SQLite ``mode=ro`` connection that writes nothing, not
even beside the file), so a running search is never blocked and its file never written, and
turns every evaluation of the store's own search into a :class:`Candidate`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..space import Arch, arch_from_dict
from ..store import EvaluationRecord, Store
from ..store.columns import COST_COLUMNS
from ..store.front import Limits, archive_front, objective_values
from ..store.records import Status

#: The store column of each cost objective (``latency`` is in GAP8 cycles): the metric's name.
OBJECTIVE_COLUMNS = COST_COLUMNS


@dataclass(frozen=True)
class Candidate:
    """One evaluated candidate as the mirror shows it.

    Attributes:
        key: the store's architecture key.
        genome: the genome the search asked for.
        arch: the decoded architecture.
        status: 'ok', 'failed' (the evaluation raised) or 'rejected' (a budget ruled it out
            before its evaluation).
        reason: why it failed or was rejected (None for 'ok').
        values: ``(error, cost...)`` in the search's objective order and store units; None when
            not evaluated or a figure is missing.
        flops / params / cycles: the candidate's figures (None where unknown).
        cycles_source: where the cycle figure comes from, e.g. "estimated (estimate)" or
            "measured (gvsoc)" (None without cycles).
        fits_gap8: the GAP8 memory verdict (None: not checked); ``gap8_memory`` says why.
        generation: the generation that first asked for it.
        finished: when its evaluation was committed (seconds since the epoch).
        seconds: accuracy seconds, the evaluation's own time before the commit.
        over_budget: ``{budget: excess}`` of every budget an evaluated row breaks (positive).
        revision: a digest of the row as stored; a later write to the row (a measurement that
            replaces an estimate) changes it.
    """

    key: str
    genome: str
    arch: Arch
    status: str
    reason: str | None
    values: tuple[float, ...] | None
    flops: int | None
    params: int | None
    cycles: int | None
    cycles_source: str | None
    fits_gap8: bool | None
    gap8_memory: str | None
    generation: int | None
    finished: float
    seconds: float
    over_budget: dict[str, float]
    revision: str


@dataclass(frozen=True)
class Search:
    """The store's search as the mirror needs it.

    Attributes:
        path: the store file.
        identity: what tells this search from another one at the same path (its creation time
            and evaluation-settings digest).
        backbone: 'xception' or 'mobilenetv2'.
        objectives: the cost objectives besides the error, e.g. ``("flops",)``.
        target: the search's measurement target.
        config: the resolved search config saved in the store.
        candidates: every evaluation of this search, in the order the store committed them.
        generations: how many generations the store holds.
        front: keys of the search's feasible Pareto front (of every evaluation).
    """

    path: Path
    identity: dict[str, Any]
    backbone: str
    objectives: tuple[str, ...]
    target: str
    config: dict[str, Any]
    candidates: list[Candidate]
    generations: int
    front: list[str]

    @property
    def name(self) -> str:
        """The store's file name without its suffix (the study's name)."""
        return self.path.stem


def read(store_path: str | Path) -> Search:
    """Read a search store, read-only.

    Raises:
        StoreError: missing file, not an fmas-hw search store, damaged, or without a config.
    """
    path = Path(store_path)
    with Store.open(path, writable=False) as store:
        meta = store.meta()
        rows = store.search_evaluations()
        generations = len(store.generations())
    config = meta.get("config") or {}
    if "backbone" not in config:
        raise StoreError(f"store {path} holds no search config: was it written by `fmas-hw search`?")
    digest = meta.get("settings_digest")
    limits = Limits.from_config(config)
    return Search(
        path=path, identity={"created": meta.get("created"), "settings_digest": digest},
        backbone=config["backbone"], objectives=limits.objectives, target=str(config.get("target", "")),
        config=config, candidates=[_candidate(r, config["backbone"], limits) for r in rows],
        generations=generations, front=[r.arch_key for r in archive_front(rows, limits)])


def signature(store_path: str | Path) -> tuple[tuple[int, int] | None, ...]:
    """Size and modification time of the store and its write-ahead log: unchanged while the
    search commits nothing, so a poller reads the store only after a commit."""
    out: list[tuple[int, int] | None] = []
    for suffix in ("", "-wal"):
        try:
            st = os.stat(f"{store_path}{suffix}")
        except FileNotFoundError:
            out.append(None)
        else:
            out.append((st.st_size, st.st_mtime_ns))
    return tuple(out)


def _candidate(record: EvaluationRecord, backbone: str, limits: Limits) -> Candidate:
    values = objective_values(record, limits.objectives) if record.status == Status.OK else None
    return Candidate(
        key=record.arch_key, genome=record.genome, arch=arch_from_dict(backbone, record.arch),
        status=record.status, reason=record.reason,
        values=None if values is None else tuple(values),
        flops=record.flops, params=record.params, cycles=record.cycles,
        cycles_source=None if record.latency is None else record.latency.label,
        fits_gap8=record.fits_gap8, gap8_memory=None if record.fit is None else record.fit.memory,
        generation=record.generation, finished=record.created, seconds=record.accuracy_seconds,
        over_budget=_over_budget(record, limits) if record.status == Status.OK else {},
        revision=hashlib.sha1(json.dumps(record.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:16])


def _over_budget(record: EvaluationRecord, limits: Limits) -> dict[str, float]:
    """How far an evaluated row is over each budget it breaks (1.0 for not fitting GAP8)."""
    budgets = {"max_params": (limits.max_params, record.params),
               "max_cycles": (limits.max_cycles, record.cycles)}
    out = {}
    for name in limits.broken(record):
        budget, value = budgets.get(name, (None, None))
        out[name] = float(value - budget) if budget is not None and value is not None else 1.0
    return out
