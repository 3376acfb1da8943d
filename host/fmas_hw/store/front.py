"""What a search found: the non-dominated set of every feasible candidate it evaluated.

NSGA-II's population is its working set: survival can drop a non-dominated candidate when the
population is crowded, so the last population's front is not the best the search found. The
search's answer is read from its archive, the store's evaluations: every feasible ``ok`` row,
with its figures as stored (measured cycles where a row was measured, else its estimate). The
search summary, ``--json``, the report and ``finetune`` all take their front from here, and the
hypervolume per generation is that of the archive up to the generation, so it can never fall.

A row is feasible when it was evaluated, every objective has a value, and it keeps within the
search's budgets (``max_params``, ``max_cycles``) and, with ``fit_gap8``, fits GAP8 memory.
:meth:`Limits.violation` names the budget a row breaks, so the summaries can count those rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .columns import cost
from .records import Status
from .search import EvaluationRecord, Store


@dataclass(frozen=True)
class Limits:
    """The objectives and constraints that decide which stored rows compete for the front.

    Attributes:
        objectives: the cost objectives besides the error, e.g. ``("flops",)``.
        max_params / max_cycles: the search's budgets (None: no budget).
        fit_gap8: whether a network must fit GAP8 memory.
    """

    objectives: tuple[str, ...]
    max_params: int | None = None
    max_cycles: int | None = None
    fit_gap8: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """The limits of a search config in its dict form (as saved in a store's meta)."""
        return cls(objectives=tuple(config.get("objectives") or ("flops",)),
                   max_params=config.get("max_params"), max_cycles=config.get("max_cycles"),
                   fit_gap8=bool(config.get("fit_gap8")))

    def broken(self, record: EvaluationRecord) -> dict[str, str]:
        """The budgets an evaluated row breaks, ``{name: why}``, e.g.
        ``{"max_cycles": "cycles 5,000 > max_cycles 4,000"}``; empty when it keeps within them.

        Rejected rows say so in their own ``reason``; this names what only shows after evaluation.
        """
        out = {}
        if self.max_params is not None and record.params is not None and record.params > self.max_params:
            out["max_params"] = f"params {record.params:,} > max_params {self.max_params:,}"
        if self.max_cycles is not None and record.cycles is not None and record.cycles > self.max_cycles:
            out["max_cycles"] = f"cycles {record.cycles:,} > max_cycles {self.max_cycles:,}"
        if self.fit_gap8 and record.fits_gap8 is False:
            out["fit_gap8"] = "does not fit GAP8 memory"
        return out

    def violation(self, record: EvaluationRecord) -> str | None:
        """Why an evaluated row breaks a budget (see :meth:`broken`), or None."""
        return "; ".join(self.broken(record).values()) or None

    def over_budget(self, records: Iterable[EvaluationRecord]) -> dict[str, int]:
        """How many evaluated (``ok``) rows break each budget: kept in the store, never on the
        front. Empty when none does."""
        counts: dict[str, int] = {}
        for record in records:
            if record.status == Status.OK:
                for name in self.broken(record):
                    counts[name] = counts.get(name, 0) + 1
        return counts

    def feasible(self, record: EvaluationRecord) -> bool:
        """Whether ``record`` competes for the front (see the module docstring)."""
        return (record.status == Status.OK and objective_values(record, self.objectives) is not None
                and self.violation(record) is None)


def objective_values(record: EvaluationRecord, objectives: tuple[str, ...]) -> list[float] | None:
    """``[error, cost...]`` of a row in store units, or None when any of them is missing."""
    values = [record.error, *(cost(record, o) for o in objectives)]
    return [float(v) for v in values if v is not None] if None not in values else None


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the rows of ``F`` that no other row dominates (all minimised).

    Equal rows do not dominate each other, so both stay.
    """
    if len(F) == 0:
        return np.zeros(0, dtype=int)
    F = np.asarray(F, dtype=float).reshape(len(F), -1)
    no_worse = np.all(F[:, None, :] <= F[None, :, :], axis=2)
    better = np.any(F[:, None, :] < F[None, :, :], axis=2)
    dominated = np.any(no_worse & better, axis=0)
    return np.flatnonzero(~dominated)


def archive_front(records: Iterable[EvaluationRecord], limits: Limits) -> list[EvaluationRecord]:
    """The non-dominated feasible rows of ``records``, in the order given."""
    feasible = [r for r in records if limits.feasible(r)]
    F = np.array([objective_values(r, limits.objectives) for r in feasible], dtype=float)
    return [feasible[i] for i in non_dominated(F)]


def hypervolume(records: Iterable[EvaluationRecord], limits: Limits, scale: Mapping[str, float],
                reference: list[float]) -> float:
    """Hypervolume of the archive front of ``records`` in the normalised objective space
    (costs divided by the supernet's ``scale``), up to ``reference``; 0.0 for an empty front."""
    front = archive_front(records, limits)
    if not front or not scale:
        return 0.0
    divisor = np.array([1.0, *(float(scale[o]) for o in limits.objectives)])
    F = np.array([objective_values(r, limits.objectives) for r in front], dtype=float) / divisor
    from pymoo.indicators.hv import HV  # pymoo only where a hypervolume is computed

    return float(HV(ref_point=np.asarray(reference, dtype=float))(F))


def hypervolume_by_generation(records: Iterable[EvaluationRecord], limits: Limits, scale: Mapping[str, float],
                              reference: list[float], generations: int) -> list[float]:
    """Archive hypervolume after each generation 0..``generations - 1``: of every row first asked
    for in that generation or earlier (the archive only grows, so the values never fall)."""
    rows = [r for r in records if r.generation is not None]
    return [hypervolume([r for r in rows if r.generation <= gen], limits, scale, reference)  # type: ignore[operator]
            for gen in range(generations)]


def stored_front(store: Store) -> list[EvaluationRecord]:
    """The front of the search in ``store``: of its evaluations under its own settings digest,
    with the objectives and budgets of its saved config, in insertion order."""
    meta = store.meta()
    digest = meta.get("settings_digest")
    rows = [r for r in store.evaluations() if digest is None or r.settings_digest == digest]
    return archive_front(rows, Limits.from_config(meta.get("config") or {}))
