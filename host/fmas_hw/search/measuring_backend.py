"""The evaluation pipeline of a search: accuracy workers, and measurement workers beside them.

With a cheap target (the estimate) a candidate's accuracy and latency are scored together by
the accuracy backend (:mod:`.backends`). With a target that runs a project per candidate (GVSoC,
a board) the latency goes to measurement workers instead: the local
:class:`~.measurement_pool.MeasurementPool`, or, on a Dask cluster whose workers declare a
``measure`` resource, :class:`~.dask_measurements.DaskMeasurements`. :class:`MeasuringBackend`
starts a candidate's measurement the moment its accuracy is in, and yields the candidate once
both are done. While a generation's last runs finish, the workers they leave idle measure what
the next generation will likely ask for (:mod:`.ahead`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import replace

from ..errors import ConfigError
from ..space import Arch, arch_from_dict
from ..targets.base import Measurement
from .backends import MEASURE, Backend, DaskBackend, Task, accuracy_backend
from .config import SearchConfig
from .dask_measurements import DaskMeasurements
from .evaluation import provenance
from .measurement_pool import MeasurementPool
from .measuring import MeasuredRun, MeasurementSource
from .worker import Outcome, describe_failure

log = logging.getLogger(__name__)


def make_backend(config: SearchConfig) -> Backend:
    """The backend ``config`` asks for: Dask when a scheduler is given, else local workers; with
    a target that runs projects, their measurements go to measurement workers beside it
    (:func:`measurement_source`)."""
    accuracy = accuracy_backend(config)
    if not config.uses_measurement_pool or config.measures_front:
        return accuracy  # (with --measure front the search loop measures, after each generation)
    try:
        return MeasuringBackend(accuracy, measurement_source(config, accuracy), config.backbone)
    except BaseException:
        accuracy.close()
        raise


def measurement_source(config: SearchConfig, accuracy: Backend) -> MeasurementSource:
    """Where the measurements run: on the cluster's ``measure`` slots when the search runs on a
    Dask cluster whose workers declare them, else on local measurement workers (said once).

    ``--port`` keeps them local: the ports name boards of the search host (a Dask measurement
    worker takes its board's port from its own ``$FMAS_BOARD_PORT``).

    Raises:
        ConfigError, WeightsError: as :class:`MeasurementPool`.
    """
    if isinstance(accuracy, DaskBackend):
        slots = accuracy.slots(MEASURE)
        if slots and not config.ports:
            log.info("Dask cluster %s: measurements on the %d slot(s) of workers declaring %r",
                     accuracy.address, slots, MEASURE)
            return DaskMeasurements(accuracy.client, config, slots)
        why = (f"--port names boards of this host ({', '.join(config.ports)})" if config.ports else
               f"no worker declares {MEASURE!r} (start one per simulator slot or board with "
               f"`dask worker {accuracy.address} --resources \"{MEASURE}=1\"`)")
        log.warning("Dask cluster %s: %s, so the measurements run on %d local measurement worker(s) "
                    "of the search process", accuracy.address, why, len(config.ports) or config.measure_workers)
    return MeasurementPool(config)


#: What the search guesses its next generation to be from the candidates still measured
#: (index -> accuracy outcome): see :meth:`MeasuringBackend.run`.
Guess = Callable[[dict[int, Outcome]], Iterable[Arch]]


class MeasuringBackend:
    """Accuracy on an accuracy backend, latency on measurement workers, joined per candidate.

    A candidate's measurement starts the moment its accuracy outcome is in (a rejected or failed
    candidate is not measured); finished candidates are yielded as soon as both halves are done,
    so each one reaches the store as early as possible.
    """

    def __init__(self, accuracy: Backend, pool: MeasurementSource, backbone: str) -> None:
        self.accuracy, self.pool, self.backbone = accuracy, pool, backbone

    def run(self, tasks: list[Task], when_waiting: Guess | None = None) -> Iterator[tuple[int, Outcome]]:
        """Score ``tasks``; yields (index, outcome) as each candidate's accuracy and measurement are in.

        Args:
            tasks: the candidates to evaluate.
            when_waiting: called once every accuracy is in and fewer measurements are left than
                workers (one idles), with the candidates still measured (index -> accuracy
                outcome); the candidates it returns are measured ahead, by the idle workers.
        """
        self.pool.ahead.drop(keep=(arch_from_dict(self.backbone, task[1]).key for task in tasks))
        waiting: dict[Future, tuple[int, Outcome]] = {}
        try:
            for index, outcome in self.accuracy.run(tasks):
                if outcome.status == "ok":
                    waiting[self.pool.submit(arch_from_dict(self.backbone, tasks[index][1]))] = (index, outcome)
                else:
                    yield index, outcome
                yield from self._finished(waiting, [f for f in waiting if f.done()])
            while waiting:
                if when_waiting is not None and len(waiting) < self.pool.workers:
                    self._measure_ahead(when_waiting(dict(waiting.values())))
                    when_waiting = None
                done, _ = wait(list(waiting), return_when=FIRST_COMPLETED)
                yield from self._finished(waiting, done)
        finally:
            for future in waiting:
                future.cancel()

    def estimate(self, arch: Arch) -> Measurement:
        """The estimate of ``arch`` with what the measured runs have taught it so far."""
        return self.pool.estimate(arch)

    def _measure_ahead(self, archs: Iterable[Arch]) -> None:
        for arch in archs:
            self.pool.submit(arch, ahead=True)

    def _finished(self, waiting: dict[Future, tuple[int, Outcome]],
                  futures: Iterable[Future]) -> Iterator[tuple[int, Outcome]]:
        for future in futures:
            index, outcome = waiting.pop(future)
            yield index, with_measurement(outcome, future)

    def close(self) -> None:
        self.pool.close()
        self.accuracy.close()


def with_measurement(outcome: Outcome, future: Future[MeasuredRun]) -> Outcome:
    """``outcome`` with the measured run of ``future`` (and the worker that measured it); a
    failed measurement fails the candidate (its error is kept), a set-up problem
    (:class:`ConfigError`) stops the search."""
    result = outcome.result
    assert result is not None  # only 'ok' outcomes are measured
    try:
        run = future.result()
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - one candidate's failed run must not stop the search
        return replace(outcome, status="failed", reason=f"measurement failed: {describe_failure(exc)}")
    measured = run.measurement
    measured_result = replace(result, cycles=int(measured.total_cycles), cycles_source=measured.source,
                              latency_seconds=run.seconds,
                              extra={**result.extra, "measurement": {**provenance(measured), "worker": run.worker}})
    return replace(outcome, result=measured_result, extra=measured_result.extra)
