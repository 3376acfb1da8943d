"""Measure-front: every candidate gets the estimate; only those that can still change the front
are measured (:class:`~.front.FrontMeasurer` decides which and learns from what comes back).

The accuracy workers score the estimate next to the accuracy; after a generation is scored its
contenders go to the measurement workers and the search goes on with their estimates. What a
generation sent is learnt a few generations later, and the population is then ranked again on
the measured figures before the GA mates it; at the end, the whole front is measured.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...costmodel.online_model import OnlineCycleModel
from ...errors import StoreError
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
        check_estimate_kept(store, pool)
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


def check_estimate_kept(store: Store, pool: MeasurementService) -> None:
    """A resumed search goes on with the estimate its stored rows were estimated by, not an
    earlier one: the online model beside the store (``<store>.layers.json``) must have learnt at
    least as much as the latest model a row names.

    Raises:
        StoreError: the model file is missing, or older than the store's rows.
    """
    latest, row_model = 0, ""
    for latency in (r.latency for r in store.evaluations("ok") if r.latency is not None):
        for model in (latency.model, latency.estimate.model if latency.estimate else None):
            if model and OnlineCycleModel.version_of(model) > latest:
                latest, row_model = OnlineCycleModel.version_of(model), model
    if latest > pool.online.version:
        kept = "is missing" if not pool.learned_path.is_file() else f"has learnt {pool.online.identity()} only"
        raise StoreError(f"store {store.path} holds estimates of {row_model}, but the estimate kept beside it "
                         f"({pool.learned_path}) {kept}: a resumed search would estimate its new candidates "
                         "with less than the interrupted one knew. Put that file back beside the store (copy it "
                         "with the store), or start a new --store")
