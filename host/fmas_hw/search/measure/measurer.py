"""What a measurement worker does: measure one candidate, and read what the estimate learns from it.

Both kinds of measurement worker run this code: the threads of a local
:class:`~.pool.ThreadExecutor`, and the Dask workers that declare a ``measure``
resource (:func:`measure_task`, sent there by :mod:`.dask_pool`). A :class:`Measurer`
holds what one process needs for a search's measurements: the candidates' project folder
(:class:`~fmas_hw.gap8.generated_projects.GeneratedProjects`), the candidate settings (classes,
width) and the search's target, opened once per concurrent measurement (per board port). Each
measured run comes back as a :class:`MeasuredRun`, with the calibration records of the run (its
log joined with the project's layer table, as ``fmas-hw calibrate`` reads them) already
extracted: the run's files live on the host that measured it, and the search's one online model
learns from the records (:mod:`.learner`) wherever that host is.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...costmodel.calibrate import Record
from ...costmodel.cycle_model import LayerFeatures
from ...errors import ConfigError, FmasError
from ...gap8.candidate_file import CandidateSpec
from ...gap8.generated_projects import GeneratedProjects
from ...model.manifest import build_options
from ...space import Arch, arch_from_dict
from ...targets.base import Target
from ...targets.measurement import Measurement
from ...targets.project_records import project_records
from ..config import SearchConfig
from ..worker import worker_id

#: A measurement worker's board port, read from its own environment (the port the search's
#: ``--port`` names is a device of the search host, not of a Dask worker's).
PORT_ENV = "FMAS_BOARD_PORT"


@dataclass(frozen=True)
class MeasuredRun:
    """One measured candidate.

    Attributes:
        measurement: the target's figures, labelled with their source.
        seconds: wall time of the measurement (project, build, run) on the worker.
        worker: ``host:pid`` of the process that measured it (its log lies on that host).
        records: per measured kernel, the cycle model's features and the measured cycles
            (:func:`~fmas_hw.targets.project_records.project_records`); empty when the run
            cannot be learnt from.
        unlearnable: why the run cannot be learnt from, when its records could not be read
            (None when they could, and for a run that keeps no log).
    """

    measurement: Measurement
    seconds: float
    worker: str
    records: tuple[Record, ...] = ()
    unlearnable: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain form, cheap to send between processes (round-trips through :meth:`from_dict`)."""
        records = [{"features": dataclasses.asdict(r.features), "cycles": r.cycles} for r in self.records]
        return {"measurement": self.measurement.to_dict(), "seconds": self.seconds, "worker": self.worker,
                "records": records, "unlearnable": self.unlearnable}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeasuredRun:
        """Inverse of :meth:`to_dict`.

        Raises:
            MeasurementError: the measurement's schema is not this version's.
        """
        records = tuple(Record(LayerFeatures(**r["features"]), r["cycles"]) for r in data["records"])
        return cls(Measurement.from_dict(data["measurement"]), float(data["seconds"]), str(data["worker"]),
                   records, data["unlearnable"])


class Measurer:
    """A search's measurement side in one process: projects, candidate settings and targets.

    Args:
        config: a resolved search config.
        target: the search's target, one that runs projects.
        ports: open the target on each of these devices now (None: a target on no device, or a
            board found by USB id), one per concurrent measurement.
        spare_port: the device of a further target, opened when more measurements run at once
            than targets are open (a Dask worker declaring more than one ``measure`` slot).

    Raises:
        ConfigError: the config has no store (the projects live next to it).
        WeightsError: the weights' manifest is unreadable or names another backbone.
    """

    def __init__(self, config: SearchConfig, target: Target, ports: Sequence[str | None] = (),
                 spare_port: str | None = None) -> None:
        if config.projects_dir is None:
            raise ConfigError("measuring on a project-running target needs a store: the projects live next to it")
        self.config = config
        self.target = target
        self.projects = GeneratedProjects(Path(config.projects_dir), weights=config.weights)
        self._classes, self._alpha = build_options(config.weights, config.backbone, config.classes, config.alpha)
        self._spare_port = spare_port
        self._idle: queue.SimpleQueue[Target] = queue.SimpleQueue()
        #: Every target this measurer opened (idle or busy).
        self.targets: list[Target] = []
        for port in ports:
            self._idle.put(self._open(port))

    def _open(self, port: str | None) -> Target:
        target = self.target.on_port(port)
        self.targets.append(target)
        return target

    def spec(self, arch: Arch) -> CandidateSpec:
        """The candidate file's contents for ``arch`` under this search's classes and width."""
        return CandidateSpec(arch, self._classes, self._alpha)

    def measure(self, arch: Arch) -> MeasuredRun:
        """Measure ``arch`` on an idle target, then read the run's calibration records.

        Raises:
            MeasurementError, AdaptationError, ExportError: the candidate's run failed (the
                search fails that candidate).
            ConfigError: a set-up problem (e.g. no SDK), which stops the search.
        """
        spec = self.spec(arch)
        target = self._take()
        try:
            started = time.perf_counter()
            measured = target.checked(target.measure_candidate(spec, self.projects))
            seconds = time.perf_counter() - started
        finally:
            self._idle.put(target)
        records, unlearnable = self._records(spec, measured)
        return MeasuredRun(measured, seconds, worker_id(), records, unlearnable)

    def _take(self) -> Target:
        try:
            return self._idle.get_nowait()
        except queue.Empty:  # more measurements at once than open targets: open one more
            return self._open(self._spare_port)

    def _records(self, spec: CandidateSpec, measured: Measurement) -> tuple[tuple[Record, ...], str | None]:
        """The run's calibration records, or why there are none (a run that cannot be learnt
        from still counts: its measurement stands)."""
        if not measured.log_path:
            return (), None
        try:
            return tuple(project_records(self.projects.folder(spec), measured.log_path)), None
        except (FmasError, OSError) as exc:
            return (), str(exc)


#: This process's measurer of a Dask measurement worker, keyed by config digest and project
#: folder (the store is a runtime key, left out of the digest, but it places the projects).
_MEASURERS: dict[tuple[str, str], Measurer] = {}
_MEASURERS_LOCK = threading.Lock()


def worker_port(target: Target) -> str | None:
    """The device of a Dask measurement worker: for a target on a device (a board), the port in
    the worker's ``$FMAS_BOARD_PORT`` (else None: found by USB id)."""
    return (os.environ.get(PORT_ENV) or None) if target.needs_exclusive_device else None


def worker_measurer(config: SearchConfig, target: Target) -> Measurer:
    """This process's :class:`Measurer` for ``config``, built on first use (one slot only, as
    the accuracy workers keep one evaluator).

    Raises:
        ConfigError, WeightsError: as :class:`Measurer`.
    """
    key = (config.digest, str(config.projects_dir))
    with _MEASURERS_LOCK:
        if key not in _MEASURERS:
            _MEASURERS.clear()
            port = worker_port(target)
            _MEASURERS[key] = Measurer(config, target, [port], spare_port=port)
        return _MEASURERS[key]


def measure_task(config_data: dict[str, Any], target: Target, arch_data: dict[str, Any]) -> dict[str, Any]:
    """Measure one candidate on this worker (a Dask worker declaring a ``measure`` resource).

    Args:
        config_data: ``SearchConfig.to_dict()`` of a resolved config with a store.
        target: the search's target (on this worker's device, if it runs on one).
        arch_data: ``Arch.to_dict()`` of the candidate.

    Returns:
        ``MeasuredRun.to_dict()``: the measurement, its seconds, this worker and the run's
        calibration records.

    Raises:
        ConfigError: a set-up problem (no store, no SDK, invalid target setting): stops the search.
        FmasError: the candidate's own run failed (the search fails that candidate only).
    """
    config = SearchConfig.from_dict(config_data)
    return worker_measurer(config, target).measure(arch_from_dict(config.backbone, arch_data)).to_dict()
