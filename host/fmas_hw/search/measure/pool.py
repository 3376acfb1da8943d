"""The local measurement workers of a search whose target runs a project per candidate (GVSoC, a board).

On such a target a candidate's accuracy costs seconds and its measurement minutes, so the two
run on separate pools: the accuracy workers (:mod:`.backends`) score the error, and as soon as a
candidate's accuracy is in, its measurement goes to one of N measurement workers here. A
generation's candidates thus stream through both pools at once. (On a Dask cluster whose workers
declare a ``measure`` resource the measurements go there instead: :mod:`.dask_pool`.)

A measurement worker is a thread of the search process that owns one target instance: the work
is a ``make run`` subprocess (GVSoC) or a serial read (board), so threads overlap it fully, and
each board port gets its own worker (``ports``). The workers share one
:class:`~.measurer.Measurer` (one :class:`~fmas_hw.gap8.generated_projects.GeneratedProjects`, which
generates one project at a time).

The longest measurements start first: queued candidates wait in the order of their estimated
cycles, largest first (longest-processing-time-first), because a generation waits for its last
measurement and a long run started last would keep every other worker idle meanwhile. Behind
them wait the measurements made ahead (:mod:`.ahead`): candidates the next generation will likely
ask for, measured by workers that would otherwise idle; one the search then asks for moves up.
The order and what the runs teach the estimate are the :class:`~.service.MeasurementService`'s;
:class:`ThreadExecutor` only runs the queue.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ...space import Arch
from ...targets.base import Target
from ..config import SearchConfig
from .measurer import MeasuredRun, Measurer
from .service import Executor, Finish, MeasurementService


class ThreadExecutor(Executor):
    """``slots`` threads of this process running the queued jobs, highest priority first.

    Args:
        slots: how many threads (jobs at once).
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._queue: list[tuple[bool, float, int, Future[MeasuredRun]]] = []
        self._jobs: dict[Future[MeasuredRun], tuple[Callable[..., Any], tuple[Any, ...], Finish]] = {}
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"fmas-measure-{i}", daemon=True)
                         for i in range(slots)]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], priority: float, behind: bool,
               finish: Finish) -> Future[MeasuredRun]:
        """Queue ``fn(*args)``.

        Raises:
            RuntimeError: the executor is closed.
        """
        future: Future[MeasuredRun] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the measurement workers are closed")
            self._jobs[future] = (fn, args, finish)
            heapq.heappush(self._queue, (behind, -priority, next(self._order), future))
            self._ready.notify()
        return future

    def move_up(self, future: Future[MeasuredRun], priority: float) -> None:
        """Queue the job again among the others (the entry behind is skipped once it has run)."""
        with self._ready:
            if future in self._jobs and not (future.running() or future.done()) and not self._closed:
                heapq.heappush(self._queue, (False, -priority, next(self._order), future))
                self._ready.notify()

    def _work(self) -> None:
        """One worker: run queued jobs until the executor closes."""
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                *_, future = heapq.heappop(self._queue)
                # under the lock: a job moved up is queued twice
                if future.running() or future.done() or not future.set_running_or_notify_cancel():
                    if future.cancelled():
                        self._jobs.pop(future, None)
                    continue
                fn, args, finish = self._jobs.pop(future)
            try:
                run = finish(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - the candidate's failure goes to the search
                future.set_exception(exc)
                continue
            future.set_result(run)

    def close(self) -> None:
        """Cancel the queued jobs and wait for the running ones."""
        with self._ready:
            self._closed = True
            queued, self._queue = self._queue, []
            self._jobs.clear()
            self._ready.notify_all()
        for *_, future in queued:
            future.cancel()
        for thread in self._threads:
            thread.join()


def local_measurements(config: SearchConfig, target: Target, learn_on_finish: bool = True) -> MeasurementService:
    """The measurements of a search on measurement workers of this process: one per board port,
    else ``config.measure_workers``, each with its own target (for a board: its own port).

    Args:
        config: a resolved search config.
        target: the search's target, one that runs projects.
        learn_on_finish: as :class:`~.service.MeasurementService`.

    Raises:
        ConfigError: the config has no store (the projects live next to it).
        WeightsError: the weights' manifest is unreadable or names another backbone.
    """
    ports: list[str | None] = list(config.ports) or [None] * config.measure_workers
    measurer = Measurer(config, target, ports)

    def job(arch: Arch) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return measurer.measure, (arch,)

    return MeasurementService(config, ThreadExecutor(len(ports)), job, learn_on_finish=learn_on_finish)
