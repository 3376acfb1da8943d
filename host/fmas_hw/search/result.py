"""What a search returns: counts for this run and its Pareto front (of everything it evaluated)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..store import EvaluationRecord
from ..store.columns import cost


@dataclass
class SearchResult:
    """The outcome of :func:`fmas_hw.search.run`.

    Attributes:
        store_path: the results store (every evaluation, every generation).
        evaluations: candidates evaluated in this run (store misses).
        store_hits: candidates served from the store in this run (repeats, or a resume's replay).
        failures: candidates that failed in this run (they stay in the store with their reason).
        rejected: candidates a cheap constraint rejected in this run, before any evaluation.
        over_budget: candidates evaluated in this run whose figures break ``max_cycles`` or
            ``max_params`` (e.g. cycles are only known after evaluation): kept in the store,
            never on the front; ``over_budget_by`` counts them per budget.
        generations: generations completed (all of them, including those of an earlier run).
        front: the search's feasible Pareto front, the non-dominated set of every candidate it
            evaluated (not only of the last population), best error first: dicts with
            ``genome``, ``key``, ``error``, each cost objective (``latency`` in cycles), every
            measured cost and ``fits_gap8`` (the memory fit; None when not recorded).
        hypervolume: hypervolume of that front over the candidates evaluated up to each
            generation (never falls from one generation to the next).
        device_seconds: accuracy + latency seconds of every evaluation in the store.
        measured_ahead: candidates a measure-all search sent to be measured ahead of their
            generation (:mod:`~fmas_hw.search.measure.ahead`), and how many of them the search asked for
            (``used``), cancelled before they ran, or measured for nothing (``wasted``, worker
            time not in ``device_seconds``); empty when nothing was measured ahead.
        device: where this run scored the candidates' accuracy (``"gpu: NVIDIA H100 ..."``,
            ``"cpu: 16 cores"``; :mod:`fmas_hw.model.device`).
    """

    store_path: Path
    evaluations: int = 0
    store_hits: int = 0
    failures: int = 0
    rejected: int = 0
    over_budget: int = 0
    over_budget_by: dict[str, int] = field(default_factory=dict)
    generations: int = 0
    front: list[dict[str, Any]] = field(default_factory=list)
    hypervolume: list[float] = field(default_factory=list)
    device_seconds: float = 0.0
    measured_ahead: dict[str, int] = field(default_factory=dict)
    device: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; ``store`` is the store path (what ``--json`` prints)."""
        out = asdict(self)
        out["store"] = str(out.pop("store_path"))
        return {"store": out.pop("store"), **out}


def front_entry(record: EvaluationRecord, objectives: tuple[str, ...]) -> dict[str, Any]:
    """A front member as plain values: genome, key, error, each objective, every cost, GAP8 fit."""
    entry: dict[str, Any] = {"genome": record.genome, "key": record.arch_key, "error": record.error}
    for name in objectives:
        entry[name] = cost(record, name)
    entry.update(flops=record.flops, params=record.params, cycles=record.cycles,
                 cycles_source=record.cycles_source, fits_gap8=record.fits_gap8)
    return entry
