"""The measurement workers of a search whose target runs a project per candidate (GVSoC, a board).

On such a target a candidate's accuracy costs seconds and its measurement minutes, so the two
run on separate pools: the accuracy workers (:mod:`.backends`) score the error, and as soon as a
candidate's accuracy is in, its measurement goes to one of N measurement workers here. A
generation's candidates thus stream through both pools at once.

A measurement worker is a thread of the search process that owns one target instance: the work
is a ``make run`` subprocess (GVSoC) or a serial read (board), so threads overlap it fully, and
each board port gets its own worker (``ports``). The workers share one
:class:`~fmas_hw.gap8.projects.GeneratedProjects`, which generates one project at a time.

Every measured run also teaches the estimate: its per-kernel cycles (the run log joined with the
project's layer table, as ``fmas-hw calibrate`` reads them) go to an
:class:`~fmas_hw.targets.online_model.OnlineCycleModel`, kept beside the store
(``<store>.layers.json``) and reloaded when the search resumes.
"""

from __future__ import annotations

import logging
import queue
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..errors import ConfigError, FmasError
from ..gap8.candidate_file import CandidateSpec
from ..gap8.projects import GeneratedProjects
from ..model.manifest import build_options
from ..space import Arch
from ..targets.base import Measurement, Target
from ..targets.cycle_model import load_cycle_model, model_identity
from ..targets.estimate import EstimateTarget
from ..targets.online_model import STATE_SUFFIX, OnlineCycleModel, RefitPolicy
from ..targets.project_records import project_records
from ..targets.registry import TargetOptions, open_target
from .config import SearchConfig

log = logging.getLogger(__name__)


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
        if config.projects_dir is None:
            raise ConfigError("measuring on a project-running target needs a store: the projects live next to it")
        options = [TargetOptions(port=p) for p in config.ports] or [TargetOptions()] * config.measure_workers
        self._targets: queue.SimpleQueue[Target] = queue.SimpleQueue()
        for option in options:
            self._targets.put(open_target(config.target, option))
        self.workers = len(options)
        self._projects = GeneratedProjects(Path(config.projects_dir), weights=config.weights)
        self._classes, self._alpha = build_options(config.weights, config.backbone, config.classes, config.alpha)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="fmas-measure")
        self.learned_path = Path(str(config.store) + STATE_SUFFIX)
        # Constants refitted once per round of the workers' runs (the scale after every run).
        self.online = _online_model(self.learned_path, RefitPolicy(every=self.workers))
        # One learner thread: a refit takes up to a few tenths of a second, which no measurement
        # worker should wait for; runs are learnt in the order they finished.
        self._learner = ThreadPoolExecutor(1, thread_name_prefix="fmas-learn")
        self._estimate = EstimateTarget(online=self.online)

    def estimate(self, arch: Arch) -> Measurement:
        """The estimate of ``arch`` with what the measured runs have taught it so far."""
        return self._estimate.measure_candidate(CandidateSpec(arch, self._classes, self._alpha))

    def wait_learning(self) -> None:
        """Return once every finished run has been learnt (the learner works in order)."""
        self._learner.submit(lambda: None).result()

    def submit(self, arch: Arch) -> Future[tuple[Measurement, float]]:
        """Measure ``arch`` on the next free worker; the future holds the measurement and its
        seconds, or the exception the target raised."""
        return self._pool.submit(self._measure, CandidateSpec(arch, self._classes, self._alpha))

    def _measure(self, spec: CandidateSpec) -> tuple[Measurement, float]:
        target = self._targets.get()  # blocks only if more jobs run than targets exist (never)
        try:
            started = time.perf_counter()
            measured = target.measure_candidate(spec, self._projects)
            seconds = time.perf_counter() - started
        finally:
            self._targets.put(target)
        self._learner.submit(self._learn, spec, measured)
        return measured, seconds

    def _learn(self, spec: CandidateSpec, measured: Measurement) -> None:
        """Refit the online estimate from the run (a run it cannot learn from is only logged:
        the measurement itself stands)."""
        if not measured.log_path:
            return
        try:
            records = project_records(self._projects.folder(spec), measured.log_path)
            self.online.observe(records, measured.source)
            self.online.save(self.learned_path)
        except (FmasError, OSError) as exc:
            log.warning("the estimate did not learn from %s: %s", measured.log_path, exc)

    def close(self) -> None:
        """Stop: running measurements finish, queued ones are cancelled, finished runs are learnt."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._learner.shutdown(wait=True)


def _online_model(path: Path, policy: RefitPolicy) -> OnlineCycleModel:
    """The online model a resumed search saved at ``path``, else a fresh one on the cycle model
    of ``$FMAS_CYCLE_MODEL`` (or the packaged one)."""
    if path.is_file():
        return OnlineCycleModel.load(path, load_cycle_model(), model_identity(), policy)
    return OnlineCycleModel.from_file(policy=policy)
