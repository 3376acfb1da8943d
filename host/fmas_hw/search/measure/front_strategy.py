"""Measure-front: every candidate gets the estimate; only those that can still change the front
are measured (:class:`~.front.FrontMeasurer` decides which and learns from what comes back).

The accuracy workers score the estimate next to the accuracy; after a generation is scored its
contenders go to the measurement workers and the search goes on with their estimates. What a
generation sent is learnt a few generations later, and the population is then ranked again on
the measured figures before the GA mates it; at the end, the whole front is measured.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...store import Evaluation, EvaluationRecord, Store
from ..backends import Backend
from ..config import SearchConfig
from ..worker import WorkerOrders
from .front import FrontMeasurer
from .service import MeasurementService
from .strategy import Candidate, MeasurementStrategy, NextGuess


class MeasureFrontStrategy(MeasurementStrategy):
    """``--measure front`` over an accuracy backend and measurement workers.

    Args:
        config: the resolved search config.
        orders: what the accuracy workers do about the cycles (estimate them).
        accuracy: the accuracy backend.
        pool: the measurement workers (they do not learn as runs finish: the front measurer
            teaches the estimate in the order it learns the runs).
        store: the search's store (measured rows are updated in place).
        supernet_key: the supernet is always measured (it normalises the latency objective).
    """

    def __init__(self, config: SearchConfig, orders: WorkerOrders, accuracy: Backend,
                 pool: MeasurementService, store: Store, supernet_key: str) -> None:
        super().__init__(config, orders)
        self.accuracy, self.pool = accuracy, pool
        self.front = FrontMeasurer(config, store, pool, supernet_key)

    def before_ask(self, gen: int, population: list[str]) -> bool:
        """Learn the measurements due at ``gen``; True when some belong to ``population``."""
        self.front.collect(gen)
        return bool(self.front.learnt_at(gen, population))

    def evaluate(self, candidates: list[Candidate],
                 guess: NextGuess | None = None) -> Iterator[tuple[int, Evaluation]]:
        return self.accuracy.run(self.tasks(candidates))

    def after_scoring(self, gen: int, records: dict[str, EvaluationRecord]) -> dict[str, EvaluationRecord]:
        return self.front.dispatch_contenders(gen, records)

    def finish(self, generations: int) -> None:
        """Measure every member of the final front."""
        self.front.final(generations)

    def close(self) -> None:
        try:
            self.pool.close()
        finally:
            self.accuracy.close()
