"""Measure-all: every candidate measured on measurement workers beside the accuracy workers.

A candidate's measurement starts the moment its accuracy is in and the candidate is yielded once
both halves are done, so each one reaches the store as early as possible. While a generation's
last runs finish, the workers they leave idle measure what the next generation will likely ask
for (:mod:`.ahead`). The measurements go through the search's
:class:`~.service.MeasurementService`, on threads of this process (:mod:`.pool`) or on the
``measure`` slots of a Dask cluster (:mod:`.dask_pool`): see :func:`measurement_source`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import replace

from ...errors import ConfigError
from ...space import Arch
from ...store import Evaluation, Latency, Status
from ...targets.base import Target
from ..backends import MEASURE, Backend, DaskBackend
from ..config import SearchConfig
from ..worker import WorkerOrders, describe_failure
from .dask_pool import dask_measurements
from .measurer import MeasuredRun
from .pool import local_measurements
from .service import MeasurementService
from .strategy import Candidate, MeasurementStrategy, NextGuess

log = logging.getLogger(__name__)


def measurement_source(config: SearchConfig, target: Target, accuracy: Backend,
                       learn_on_finish: bool = True) -> MeasurementService:
    """Where the measurements run: on the cluster's ``measure`` slots when the search runs on a
    Dask cluster whose workers declare them, else on local measurement workers (said once).

    ``--port`` keeps them local: the ports name boards of the search host (a Dask measurement
    worker takes its board's port from its own ``$FMAS_BOARD_PORT``).

    Raises:
        ConfigError, WeightsError: as :class:`~.service.MeasurementService`.
    """
    if isinstance(accuracy, DaskBackend):
        slots = accuracy.slots(MEASURE)
        if slots and not config.ports:
            log.info("Dask cluster %s: measurements on the %d slot(s) of workers declaring %r",
                     accuracy.address, slots, MEASURE)
            return dask_measurements(accuracy.client, config, target, slots, learn_on_finish)
        why = (f"--port names boards of this host ({', '.join(config.ports)})" if config.ports else
               f"no worker declares {MEASURE!r} (start one per simulator slot or board with "
               f"`dask worker {accuracy.address} --resources \"{MEASURE}=1\"`)")
        log.warning("Dask cluster %s: %s, so the measurements run on %d local measurement worker(s) "
                    "of the search process", accuracy.address, why, len(config.ports) or config.measure_workers)
    return local_measurements(config, target, learn_on_finish)


class MeasureAllStrategy(MeasurementStrategy):
    """Accuracy on an accuracy backend, latency on measurement workers, joined per candidate
    (a rejected or failed candidate is not measured).

    Args:
        config: the resolved search config.
        orders: what the accuracy workers do about the cycles (nothing: they are measured here).
        accuracy: the accuracy backend.
        pool: the measurement workers.
    """

    def __init__(self, config: SearchConfig, orders: WorkerOrders, accuracy: Backend,
                 pool: MeasurementService) -> None:
        super().__init__(config, orders)
        self.accuracy, self.pool = accuracy, pool

    def evaluate(self, candidates: list[Candidate],
                 guess: NextGuess | None = None) -> Iterator[tuple[int, Evaluation]]:
        """Score ``candidates``; yields (index, outcome) as each one's accuracy and measurement
        are in. Once every accuracy is in and fewer measurements are left than workers (one
        idles), the candidates ``guess`` names are measured ahead by the idle workers."""
        self.pool.ahead.drop(keep=(arch.key for arch, _ in candidates))
        waiting: dict[Future, tuple[int, Evaluation]] = {}
        try:
            for index, outcome in self.accuracy.run(self.tasks(candidates)):
                if outcome.status == Status.OK:
                    waiting[self.pool.submit(candidates[index][0])] = (index, outcome)
                else:
                    yield index, outcome
                yield from self._finished(waiting, [f for f in waiting if f.done()])
            while waiting:
                if guess is not None and len(waiting) < self.pool.workers:
                    self._measure_ahead(guess(dict(waiting.values()), self.pool.estimate))
                    guess = None
                done, _ = wait(list(waiting), return_when=FIRST_COMPLETED)
                yield from self._finished(waiting, done)
        finally:
            for future in waiting:
                future.cancel()

    def made_ahead(self) -> dict[str, int]:
        return self.pool.ahead.counts()

    def _measure_ahead(self, archs: Iterable[Arch]) -> None:
        for arch in archs:
            self.pool.submit(arch, ahead=True)

    def _finished(self, waiting: dict[Future, tuple[int, Evaluation]],
                  futures: Iterable[Future]) -> Iterator[tuple[int, Evaluation]]:
        for future in futures:
            index, outcome = waiting.pop(future)
            yield index, outcome_with_run(outcome, future)

    def close(self) -> None:
        self.pool.close()
        self.accuracy.close()


def outcome_with_run(outcome: Evaluation, future: Future[MeasuredRun]) -> Evaluation:
    """``outcome`` with the measured run of ``future`` (and the worker that measured it); a
    failed measurement fails the candidate (its error is kept), a set-up problem
    (:class:`ConfigError`) stops the search."""
    try:
        run = future.result()
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - one candidate's failed run must not stop the search
        return replace(outcome, status=Status.FAILED, reason=f"measurement failed: {describe_failure(exc)}")
    return replace(outcome, latency=Latency.of(run.measurement, worker=run.worker), latency_seconds=run.seconds)
