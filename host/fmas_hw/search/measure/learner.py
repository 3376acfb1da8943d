"""The search's estimate learns from every measured run, wherever it was measured.

One :class:`~fmas_hw.costmodel.online_model.OnlineCycleModel` per search, in the search process,
kept beside the store (``<store>.layers.json``) and reloaded when the search resumes: the local
measurement threads and the Dask measurement workers all hand it their runs' calibration records
(:class:`~.measurer.MeasuredRun`), so it learns from all of them and one process writes its file.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ...costmodel.cycle_model import load_cycle_model, model_identity
from ...costmodel.online_model import STATE_SUFFIX, OnlineCycleModel, RefitPolicy
from ...errors import FmasError
from ...gap8.candidate_file import CandidateSpec
from ...targets.estimate import EstimateTarget
from ...targets.measurement import Measurement
from .measurer import MeasuredRun

log = logging.getLogger(__name__)


class Learner:
    """Feeds measured runs to the search's online model, one at a time, on its own thread.

    A refit takes up to a few tenths of a second, which no measurement should wait for; runs
    are learnt in the order they finished. The model is saved once the runs handed in are all
    learnt, not after each (writing the layer cache costs more than learning a run, and runs
    finish in bursts at the end of a generation).

    Args:
        store: the search's store (the model is kept at ``<store>.layers.json``).
        workers: measurements that run at once: the constants are refitted once per round of
            the workers' runs (the scale after every run).

    Raises:
        ConfigError: the saved model was learnt on another base cycle model, or the packaged
            (or ``$FMAS_CYCLE_MODEL``) cycle model is unreadable.
        MeasurementError: the saved model is malformed.
    """

    def __init__(self, store: str | Path, workers: int) -> None:
        self.path = Path(str(store) + STATE_SUFFIX)
        self.online = _online_model(self.path, RefitPolicy(every=max(workers, 1)))
        self._estimate = EstimateTarget(online=self.online)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="fmas-learn")
        self._lock = threading.Lock()
        self._closed = False
        self._pending = 0  # runs handed in, not learnt yet
        self._unsaved = False

    def learn(self, run: MeasuredRun) -> None:
        """Learn from ``run`` soon (a run handed in after :meth:`close` is not learnt from)."""
        with self._lock:
            if self._closed:
                log.warning("the search stopped before the estimate could learn from %s",
                            run.measurement.log_path)
                return
            self._pending += 1
            self._thread.submit(self._learn, run)

    def _learn(self, run: MeasuredRun) -> None:
        """Refit from the run, and save the model when no other run waits to be learnt."""
        try:
            self._observe(run)
        finally:
            with self._lock:
                self._pending -= 1
                idle = self._pending == 0
            if idle:
                self._save()

    def _observe(self, run: MeasuredRun) -> None:
        """Learn from one run (a run it cannot learn from is only logged: the measurement stands)."""
        if run.unlearnable is not None:
            log.warning("the estimate did not learn from %s: %s", run.measurement.log_path, run.unlearnable)
            return
        if not run.records:
            return
        try:
            self.online.observe(run.records, run.measurement.source)
            self._unsaved = True
        except FmasError as exc:
            log.warning("the estimate did not learn from %s: %s", run.measurement.log_path, exc)

    def _save(self) -> None:
        """Write the model beside the store, if it learnt anything since it was last written."""
        if not self._unsaved:
            return
        try:
            self.online.save(self.path)
            self._unsaved = False
        except (FmasError, OSError) as exc:
            log.warning("the estimate's state could not be written to %s: %s", self.path, exc)

    def wait(self) -> None:
        """Return once every run handed in so far has been learnt (the thread works in order).

        Raises:
            RuntimeError: the learner is closed.
        """
        self._thread.submit(lambda: None).result()

    def estimate(self, spec: CandidateSpec) -> Measurement:
        """The estimate of ``spec`` with what the measured runs have taught it so far (labelled
        an estimate, with the online model's version in its ``tool_versions``).

        Raises:
            AdaptationError: the candidate cannot run on GAP8.
        """
        return self._estimate.measure_candidate(spec)

    def close(self) -> None:
        """Learn from every run handed in so far, then stop."""
        with self._lock:
            self._closed = True
        self._thread.shutdown(wait=True)


def _online_model(path: Path, policy: RefitPolicy) -> OnlineCycleModel:
    """The online model a resumed search saved at ``path``, else a fresh one on the cycle model
    of ``$FMAS_CYCLE_MODEL`` (or the packaged one)."""
    if path.is_file():
        return OnlineCycleModel.load(path, load_cycle_model(), model_identity(), policy)
    return OnlineCycleModel.from_file(policy=policy)
