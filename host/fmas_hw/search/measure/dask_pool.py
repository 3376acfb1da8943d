"""Measurements as Dask tasks, on the workers of a cluster that declare a ``measure`` resource.

Start one such worker per GVSoC slot or per board, on the hosts that have the SDK or the boards::

    dask worker tcp://SCHEDULER:8786 --nthreads 1 --resources "measure=1"        # a GVSoC slot
    FMAS_BOARD_PORT=/dev/ttyUSB0 dask worker tcp://SCHEDULER:8786 --nthreads 1 --resources "measure=1"
    dask worker tcp://SCHEDULER:8786 --nthreads 1 --resources "accuracy=1"        # the GPU host

Each candidate's measurement is one :func:`~.measurer.measure_task` submitted with
``resources={"measure": 1}``, so Dask runs at most one per declared slot, on those workers only,
and with its estimated Mcycles as the task's priority, so the longest runs start first (as on
the local pool).
Each worker process builds its :class:`~.measurer.Measurer` once (target, project folder) and
writes the candidates' projects under the store's ``projects/`` folder by the same path as the
search host (a shared file system keeps them in one place; else each host keeps its own). The
task returns the run's calibration records with its measurement, and the search's one
:class:`~.learner.Learner` learns from them in the search process.

:class:`DaskExecutor` is the :class:`~.service.Executor` of the search's
:class:`~.service.MeasurementService` there, as :class:`~.pool.ThreadExecutor` is on this host:
the order of the runs and what they teach are the service's either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ...space import Arch
from ...targets.base import Target
from ..backends import MEASURE
from ..config import SearchConfig
from .measurer import MeasuredRun, measure_task
from .service import Executor, Finish, MeasurementService

#: How far below the measurements the search waits for a measurement made ahead is queued
#: (Dask priorities are estimated Mcycles: larger starts first).
AHEAD_PRIORITY = 1 << 40


class DaskExecutor(Executor):
    """Jobs as Dask tasks on the ``measure`` slots of a cluster.

    Args:
        client: a connected ``distributed.Client`` (the accuracy backend's; not closed here).
        slots: how many ``measure`` slots the cluster's workers declare.
    """

    def __init__(self, client: Any, slots: int) -> None:
        self._client = client
        self.slots = slots
        self._tasks: set[Any] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], priority: float, behind: bool,
               finish: Finish) -> Future[MeasuredRun]:
        """Submit ``fn(*args)`` with ``resources={"measure": 1}``; cancelling the future cancels
        the task (Dask's own errors, e.g. ``KilledWorker``, reach the future too)."""
        rank = int(priority // 10**6) - (AHEAD_PRIORITY if behind else 0)
        task = self._client.submit(fn, *args, resources={MEASURE: 1}, pure=False, priority=rank)
        with self._lock:
            self._tasks.add(task)
        out: Future[MeasuredRun] = Future()
        out.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        task.add_done_callback(lambda t: self._settle(t, out, finish))
        return out

    def move_up(self, future: Future[MeasuredRun], priority: float) -> None:
        """Nothing: Dask cannot raise a submitted task's priority."""

    def _settle(self, task: Any, out: Future[MeasuredRun], finish: Finish) -> None:
        """On Dask's callback thread: hand the finished task's run over."""
        with self._lock:
            self._tasks.discard(task)
        if not out.set_running_or_notify_cancel():
            return  # the search no longer waits for it
        try:
            run = finish(task.result())
        except BaseException as exc:  # noqa: BLE001 - the candidate's failure goes to the search
            out.set_exception(exc)
            return
        out.set_result(run)

    def close(self) -> None:
        """Cancel the tasks still on the cluster."""
        with self._lock:
            unfinished = list(self._tasks)
        if unfinished:
            self._client.cancel(unfinished)


def dask_measurements(client: Any, config: SearchConfig, target: Target, slots: int,
                      learn_on_finish: bool = True) -> MeasurementService:
    """The measurements of a search on the ``measure`` slots of a Dask cluster.

    Args:
        client: a connected ``distributed.Client``.
        config: a resolved search config.
        target: the search's target, one that runs projects (sent to the workers with each task).
        slots: how many ``measure`` slots the cluster's workers declare (the measurements that
            run at once: the online model refits its constants once per round of them).
        learn_on_finish: as :class:`~.service.MeasurementService`.

    Raises:
        ConfigError: the config has no store (the projects and the online model live next to it).
        WeightsError: the weights' manifest is unreadable or names another backbone.
    """
    config_data = config.to_dict()

    def job(arch: Arch) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return measure_task, (config_data, target, arch.to_dict())

    def finish(result: dict[str, Any]) -> MeasuredRun:
        run = MeasuredRun.from_dict(result)
        target.checked(run.measurement)  # figures from another process enter the search here
        return run

    return MeasurementService(config, DaskExecutor(client, slots), job, finish, learn_on_finish)
