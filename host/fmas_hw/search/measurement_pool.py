"""The local measurement workers of a search whose target runs a project per candidate (GVSoC, a board).

On such a target a candidate's accuracy costs seconds and its measurement minutes, so the two
run on separate pools: the accuracy workers (:mod:`.backends`) score the error, and as soon as a
candidate's accuracy is in, its measurement goes to one of N measurement workers here. A
generation's candidates thus stream through both pools at once. (On a Dask cluster whose workers
declare a ``measure`` resource the measurements go there instead: :mod:`.dask_measurements`.)

A measurement worker is a thread of the search process that owns one target instance: the work
is a ``make run`` subprocess (GVSoC) or a serial read (board), so threads overlap it fully, and
each board port gets its own worker (``ports``). The workers share one
:class:`~.measuring.Measurer` (one :class:`~fmas_hw.gap8.projects.GeneratedProjects`, which
generates one project at a time).

Every measured run also teaches the estimate (:class:`~.learner.Learner`): its per-kernel cycles
refit the search's :class:`~fmas_hw.targets.online_model.OnlineCycleModel`, kept beside the store
(``<store>.layers.json``) and reloaded when the search resumes.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..space import Arch
from ..targets.base import Measurement
from ..targets.online_model import OnlineCycleModel
from ..targets.registry import TargetOptions
from .config import SearchConfig
from .learner import Learner
from .measuring import MeasuredRun, Measurer


class MeasurementPool:
    """N measurement workers, each with its own target (for a board: its own port).

    Args:
        config: a resolved search config whose target runs projects.

    Raises:
        ConfigError: the config has no store (the projects live next to it), or a target
            setting is invalid.
        WeightsError: the weights' manifest is unreadable or names another backbone.
    """

    def __init__(self, config: SearchConfig) -> None:
        options = [TargetOptions(port=p) for p in config.ports] or [TargetOptions()] * config.measure_workers
        self.measurer = Measurer(config, options)
        self.workers = len(options)
        self.learner = Learner(str(config.store), self.workers)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="fmas-measure")

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

    def wait_learning(self) -> None:
        """Return once every finished run has been learnt (the learner works in order)."""
        self.learner.wait()

    def submit(self, arch: Arch) -> Future[MeasuredRun]:
        """Measure ``arch`` on the next free worker; the future holds the run, or the exception
        the target raised."""
        return self._pool.submit(self._measure, arch)

    def _measure(self, arch: Arch) -> MeasuredRun:
        run = self.measurer.measure(arch)
        self.learner.learn(run)
        return run

    def close(self) -> None:
        """Stop: running measurements finish, queued ones are cancelled, finished runs are learnt."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.learner.close()
