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

Every measured run also teaches the estimate (:class:`~.learner.Learner`): its per-kernel cycles
refit the search's :class:`~fmas_hw.costmodel.online_model.OnlineCycleModel`, kept beside the store
(``<store>.layers.json``) and reloaded when the search resumes.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from concurrent.futures import Future
from pathlib import Path

from ...costmodel.online_model import OnlineCycleModel
from ...errors import FmasError
from ...space import Arch
from ...targets.base import Target
from ...targets.estimate import EstimateTarget
from ...targets.measurement import Measurement
from ..config import SearchConfig
from .ahead import Ahead
from .learner import Learner
from .measurer import MeasuredRun, Measurer


class MeasurementPool:
    """N measurement workers, each with its own target (for a board: its own port).

    Args:
        config: a resolved search config.
        target: the search's target, one that runs projects.
        learn_on_finish: teach the online model each run as it finishes (False: the caller
            hands the runs to :meth:`learn` in the order it wants them learnt).

    Raises:
        ConfigError: the config has no store (the projects live next to it).
        WeightsError: the weights' manifest is unreadable or names another backbone.
    """

    def __init__(self, config: SearchConfig, target: Target, learn_on_finish: bool = True) -> None:
        ports: list[str | None] = list(config.ports) or [None] * config.measure_workers
        self.measurer = Measurer(config, target, ports)
        self.workers = len(ports)
        self.learner = Learner(str(config.store), self.workers)
        self._learn_on_finish = learn_on_finish
        self._base = EstimateTarget()
        self.ahead = Ahead()
        self._queue: list[tuple[bool, float, int, Arch, Future[MeasuredRun]]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"fmas-measure-{i}", daemon=True)
                         for i in range(self.workers)]
        for thread in self._threads:
            thread.start()

    @property
    def online(self) -> OnlineCycleModel:
        """The estimate the measured runs teach."""
        return self.learner.online

    @property
    def learned_path(self) -> Path:
        """Where the online model is kept: ``<store>.layers.json``."""
        return self.learner.path

    def estimate(self, arch: Arch) -> Measurement:
        """The estimate of ``arch`` with what the measured runs have taught it so far."""
        return self.learner.estimate(self.measurer.spec(arch))

    def learn(self, run: MeasuredRun) -> None:
        """Teach the estimate ``run`` (``--measure front``: the runs are not learnt as they finish)."""
        self.learner.learn(run)

    def wait_learning(self) -> None:
        """Return once every run handed to the learner has been learnt."""
        self.learner.wait()

    def submit(self, arch: Arch, ahead: bool = False) -> Future[MeasuredRun]:
        """Queue the measurement of ``arch`` (longest estimated first); the future holds the run,
        or the exception the target raised.

        Args:
            arch: the candidate.
            ahead: measure it ahead of its generation, behind every other queued measurement
                (:mod:`.ahead`); asked for later without ``ahead``, it moves up (or, if it has run,
                its run is taken as it is).

        Raises:
            RuntimeError: the pool is closed.
        """
        future = self.ahead.get(arch) if ahead else self.ahead.claim(arch)
        if future is not None and (ahead or future.running() or future.done()):
            return future  # guessed again, or made ahead and already running or run: taken as it is
        priority = -self._expected_cycles(arch)
        with self._ready:
            if self._closed:
                raise RuntimeError("the measurement pool is closed")
            if future is None:
                future = Future()
                if ahead:
                    self.ahead.add(arch, future)
            heapq.heappush(self._queue, (ahead, priority, next(self._order), arch, future))
            self._ready.notify()
        return future

    def _expected_cycles(self, arch: Arch) -> float:
        """The packaged model's estimate (only to order the queue; a candidate GAP8 cannot run
        goes last, and its measurement fails as it would anyway)."""
        try:
            return float(self._base.measure_candidate(self.measurer.spec(arch)).total_cycles)
        except FmasError:
            return 0.0

    def _work(self) -> None:
        """One worker: measure queued candidates until the pool closes."""
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                *_, arch, future = heapq.heappop(self._queue)
                # under the lock: a measurement made ahead and then claimed is queued twice
                if future.running() or future.done() or not future.set_running_or_notify_cancel():
                    continue
            try:
                run = self.measurer.measure(arch)
            except BaseException as exc:  # noqa: BLE001 - the candidate's failure goes to the search
                future.set_exception(exc)
                continue
            if self._learn_on_finish:
                self.learner.learn(run)
            future.set_result(run)

    def close(self) -> None:
        """Stop: running measurements finish, queued ones are cancelled, finished runs are learnt."""
        with self._ready:
            self._closed = True
            queued, self._queue = self._queue, []
            self._ready.notify_all()
        for *_, future in queued:
            future.cancel()
        for thread in self._threads:
            thread.join()
        self.ahead.report()
        self.learner.close()
