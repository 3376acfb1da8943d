"""The evaluation pipeline of a search: accuracy workers, and measurement workers beside them.

With a cheap target (the estimate) a candidate's accuracy and latency are scored together by
the accuracy backend (:mod:`.backends`). With a target that runs a project per candidate (GVSoC,
a board) the latency goes to a :class:`~.measurement_pool.MeasurementPool` instead:
:class:`MeasuringBackend` starts a candidate's measurement the moment its accuracy is in, and
yields the candidate once both are done.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, as_completed
from dataclasses import replace

from ..errors import ConfigError
from ..space import arch_from_dict
from .backends import Backend, Task, accuracy_backend
from .config import SearchConfig
from .evaluation import provenance
from .measurement_pool import MeasurementPool
from .measuring import MeasuredRun, MeasurementSource
from .worker import Outcome, describe_failure


def make_backend(config: SearchConfig) -> Backend:
    """The backend ``config`` asks for: Dask when a scheduler is given, else local workers; with
    a target that runs projects, their measurements go to a measurement pool beside it."""
    accuracy = accuracy_backend(config)
    if not config.uses_measurement_pool or config.measures_front:
        return accuracy  # (with --measure front the search loop measures, after each generation)
    try:
        return MeasuringBackend(accuracy, MeasurementPool(config), config.backbone)
    except BaseException:
        accuracy.close()
        raise


class MeasuringBackend:
    """Accuracy on an accuracy backend, latency on measurement workers, joined per candidate.

    A candidate's measurement starts the moment its accuracy outcome is in (a rejected or failed
    candidate is not measured); finished candidates are yielded as soon as both halves are done,
    so each one reaches the store as early as possible.
    """

    def __init__(self, accuracy: Backend, pool: MeasurementSource, backbone: str) -> None:
        self.accuracy, self.pool, self.backbone = accuracy, pool, backbone

    def run(self, tasks: list[Task]) -> Iterator[tuple[int, Outcome]]:
        waiting: dict[Future, tuple[int, Outcome]] = {}
        try:
            for index, outcome in self.accuracy.run(tasks):
                if outcome.status == "ok":
                    waiting[self.pool.submit(arch_from_dict(self.backbone, tasks[index][1]))] = (index, outcome)
                else:
                    yield index, outcome
                yield from self._finished(waiting, [f for f in waiting if f.done()])
            yield from self._finished(waiting, as_completed(list(waiting)))
        finally:
            for future in waiting:
                future.cancel()

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
