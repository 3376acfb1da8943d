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

:class:`DaskMeasurements` has the interface of the local
:class:`~.pool.MeasurementPool` (``submit`` gives a :class:`concurrent.futures.Future`
of the :class:`~.measurer.MeasuredRun`), so the pipeline treats both alike.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from ...costmodel.online_model import OnlineCycleModel
from ...errors import ConfigError, FmasError
from ...gap8.candidate_file import CandidateSpec
from ...model.manifest import build_options
from ...space import Arch
from ...targets.base import Target
from ...targets.estimate import EstimateTarget
from ...targets.measurement import Measurement
from ..backends import MEASURE
from ..config import SearchConfig
from .ahead import Ahead
from .learner import Learner
from .measurer import MeasuredRun, measure_task

#: How far below the measurements the search waits for a measurement made ahead is queued
#: (Dask priorities are estimated Mcycles: larger starts first).
AHEAD_PRIORITY = 1 << 40


class DaskMeasurements:
    """The measurements of a search on the ``measure`` slots of a Dask cluster.

    Args:
        client: a connected ``distributed.Client`` (the accuracy backend's; not closed here).
        config: a resolved search config.
        target: the search's target, one that runs projects (sent to the workers with each task).
        slots: how many ``measure`` slots the cluster's workers declare (the measurements that
            run at once: the online model refits its constants once per round of them).
        learn_on_finish: as :class:`~.pool.MeasurementPool`.

    Raises:
        ConfigError: the config has no store (the projects and the online model live next to it).
        WeightsError: the weights' manifest is unreadable or names another backbone.
    """

    def __init__(self, client: Any, config: SearchConfig, target: Target, slots: int,
                 learn_on_finish: bool = True) -> None:
        if config.store is None:
            raise ConfigError("measuring on a project-running target needs a store: the projects live next to it")
        self._client = client
        self._config_data = config.to_dict()
        self._target = target
        self._classes, self._alpha = build_options(config.weights, config.backbone, config.classes, config.alpha)
        self.workers = slots
        self.learner = Learner(config.store, slots)
        self._learn_on_finish = learn_on_finish
        self._base = EstimateTarget()
        self.ahead = Ahead()
        self._tasks: set[Any] = set()
        self._lock = threading.Lock()

    @property
    def online(self) -> OnlineCycleModel:
        """The estimate the measured runs teach."""
        return self.learner.online

    def estimate(self, arch: Arch) -> Measurement:
        """The estimate of ``arch`` with what the measured runs have taught it so far (in this
        process: the estimate needs no worker)."""
        return self.learner.estimate(CandidateSpec(arch, self._classes, self._alpha))

    def _priority(self, arch: Arch) -> int:
        """Estimated Mcycles of ``arch`` under the packaged model: Dask starts higher first."""
        try:
            return int(self._base.measure_candidate(CandidateSpec(arch, self._classes, self._alpha)).total_cycles // 10**6)
        except FmasError:
            return 0

    def learn(self, run: MeasuredRun) -> None:
        """Teach the estimate ``run`` (``--measure front``: the runs are not learnt as they finish)."""
        self.learner.learn(run)

    def wait_learning(self) -> None:
        """Return once every run handed to the learner has been learnt."""
        self.learner.wait()

    def submit(self, arch: Arch, ahead: bool = False) -> Future[MeasuredRun]:
        """Send the measurement of ``arch`` to a ``measure`` slot of the cluster.

        Args:
            arch: the candidate.
            ahead: measure it ahead of its generation (:mod:`.ahead`), at a priority below every
                measurement the search waits for; asked for later without ``ahead``, the same
                task is taken (Dask cannot raise a submitted task's priority).

        Returns:
            A future of the run, or of the exception the worker's target raised (Dask's own
            errors, e.g. ``KilledWorker``, too); cancelling it cancels the Dask task.
        """
        known = self.ahead.get(arch) if ahead else self.ahead.claim(arch)
        if known is not None:
            return known
        priority = self._priority(arch) - (AHEAD_PRIORITY if ahead else 0)
        task = self._client.submit(measure_task, self._config_data, self._target, arch.to_dict(),
                                   resources={MEASURE: 1}, pure=False, priority=priority)
        with self._lock:
            self._tasks.add(task)
        out: Future[MeasuredRun] = Future()
        out.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        task.add_done_callback(lambda t: self._settle(t, out))
        if ahead:
            self.ahead.add(arch, out)
        return out

    def _settle(self, task: Any, out: Future[MeasuredRun]) -> None:
        """On Dask's callback thread: learn from the finished task, then hand its run over."""
        with self._lock:
            self._tasks.discard(task)
        if not out.set_running_or_notify_cancel():
            return  # the search no longer waits for it
        try:
            run = MeasuredRun.from_dict(task.result())
            self._target.checked(run.measurement)  # figures from another process enter the search here
        except BaseException as exc:  # noqa: BLE001 - the candidate's failure goes to the search
            out.set_exception(exc)
            return
        # Learnt before the search sees it: when the search has every run, the learner has too.
        if self._learn_on_finish:
            self.learner.learn(run)
        out.set_result(run)

    def close(self) -> None:
        """Cancel the measurements still on the cluster, learn from the finished ones, stop."""
        with self._lock:
            unfinished = list(self._tasks)
        if unfinished:
            self._client.cancel(unfinished)
        self.ahead.report()
        self.learner.close()
