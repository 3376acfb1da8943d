"""A search's one measurement service: what it sends to be measured, in which order, and what the
estimate learns from the runs.

:class:`MeasurementService` owns every decision about a run that is not the running itself: the
order (the longest estimated run first), the measurements made ahead (:mod:`.ahead`), the
estimate the runs teach (:class:`~.learner.Learner`) and when they teach it. Where the runs
execute is its :class:`~fmas_hw.search.executors.Executor`: threads of the search process (:mod:`.pool`) or the
``measure`` slots of a Dask cluster (:mod:`.dask_pool`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ...costmodel.online_model import OnlineCycleModel
from ...errors import ConfigError, FmasError
from ...gap8.candidate_file import CandidateSpec
from ...model.manifest import build_options
from ...space import Arch
from ...targets.estimate import EstimateTarget
from ...targets.measurement import Measurement
from ..config import SearchConfig
from ..executors import Executor, Finish
from .ahead import Ahead
from .learner import Learner
from .measurer import MeasuredRun


class MeasurementService:
    """The measurements of one search.

    Args:
        config: the resolved search config (its store places the learnt model).
        executor: where the jobs run.
        job: the function and arguments that measure an architecture on ``executor``.
        finish: turns a job's result into a :class:`~.measurer.MeasuredRun`.
        learn_on_finish: teach the estimate each run as it finishes, before the search sees it
            (False: the caller hands the runs to :meth:`learn` in the order it learns them).

    Raises:
        ConfigError: the config has no store.
        WeightsError: the weights' manifest is unreadable or names another backbone.
    """

    def __init__(self, config: SearchConfig, executor: Executor,
                 job: Callable[[Arch], tuple[Callable[..., Any], tuple[Any, ...]]],
                 finish: Finish = lambda run: run, learn_on_finish: bool = True) -> None:
        if config.store is None:
            raise ConfigError("measuring on a project-running target needs a store: the projects live next to it")
        self.executor = executor
        self.workers = executor.slots
        self.learner = Learner(config.store, executor.slots)
        self.ahead = Ahead()
        self._job, self._finish, self._learn_on_finish = job, finish, learn_on_finish
        self._classes, self._alpha = build_options(config.weights, config.backbone, config.classes, config.alpha)
        self._base = EstimateTarget()

    @property
    def online(self) -> OnlineCycleModel:
        """The estimate the measured runs teach."""
        return self.learner.online

    @property
    def learned_path(self) -> Path:
        """Where the online model is kept: ``<store>.layers.json``."""
        return self.learner.path

    def spec(self, arch: Arch) -> CandidateSpec:
        """The candidate file's contents for ``arch`` under this search's classes and width."""
        return CandidateSpec(arch, self._classes, self._alpha)

    def estimate(self, arch: Arch) -> Measurement:
        """The estimate of ``arch`` with what the measured runs have taught it so far."""
        return self.learner.estimate(self.spec(arch))

    def learn(self, run: MeasuredRun) -> None:
        """Teach the estimate ``run`` (``--measure front``: the runs are not learnt as they finish)."""
        self.learner.learn(run)

    def wait_learning(self) -> None:
        """Return once every run handed to the learner has been learnt."""
        self.learner.wait()

    def submit(self, arch: Arch, ahead: bool = False) -> Future[MeasuredRun]:
        """Start measuring ``arch`` (longest estimated first); the future holds its run, or the
        exception its target raised.

        Args:
            arch: the candidate.
            ahead: a guess at the next generation (:mod:`.ahead`), measured behind every other
                queued measurement; asked for later without ``ahead``, the same measurement is
                taken (and moves up where the executor can reorder its queue).
        """
        known = self.ahead.get(arch) if ahead else self.ahead.claim(arch)
        if known is not None:
            if not ahead:
                self.executor.move_up(known, self._expected_cycles(arch))
            return known
        fn, args = self._job(arch)
        future = self.executor.submit(fn, args, self._expected_cycles(arch), ahead, self._settle)
        if ahead:
            self.ahead.add(arch, future)
        return future

    def _settle(self, result: Any) -> MeasuredRun:
        """A finished job's run; learnt before the search sees it, so that when the search has
        every run, the learner has too."""
        run = self._finish(result)
        if self._learn_on_finish:
            self.learner.learn(run)
        return run

    def _expected_cycles(self, arch: Arch) -> float:
        """The packaged model's estimate (only to order the queue; a candidate GAP8 cannot run
        goes last, and its measurement fails as it would anyway)."""
        try:
            return float(self._base.measure_candidate(self.spec(arch)).total_cycles)
        except FmasError:
            return 0.0

    def close(self) -> None:
        """Stop: running measurements finish, queued ones are cancelled, finished runs are learnt."""
        self.executor.close()
        self.ahead.report()
        self.learner.close()
