"""One configurable measurement-target double for the search's tests.

A :class:`DoubleTarget` runs a project per candidate as GVSoC or a board would (it needs the
search's project folder), but answers at once or after a chosen time, with cycles a function of
the candidate, and records what it was asked. Tests pass the instance to the Python API
(``run(config, target=double)``); nothing is registered.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from typing import ClassVar

from fmas_hw.errors import MeasurementError
from fmas_hw.gap8.candidate_file import CandidateSpec
from fmas_hw.targets.base import ProjectSource, Target
from fmas_hw.targets.estimate import EstimateTarget
from fmas_hw.targets.measurement import Measurement

from .search.fakes import should_fail

CLUSTER_HZ = 175_000_000


def unit(key: str, salt: str = "") -> float:
    """A number in [0, 1] fixed per candidate key (and salt)."""
    return int(hashlib.sha1((salt + key).encode()).hexdigest()[:6], 16) / 0xFFFFFF


def genome_cycles(spec: CandidateSpec) -> int:
    """Cycles that tell candidates apart and need no model: 1e6 + the genome as a number."""
    return 1_000_000 + int(spec.genome, 2)


def scaled_estimate(factor: Callable[[str], float]) -> Callable[[CandidateSpec], int]:
    """Cycles = the packaged estimate x ``factor(arch key)``: hardware the estimate gets wrong."""
    estimate = EstimateTarget()
    return lambda spec: int(estimate.measure_candidate(spec).total_cycles * factor(spec.arch.key))


class DoubleTarget(Target):
    """A project-running target double.

    Args:
        name: the source its measurements carry.
        hardware: its figures count as measured (True) or as a model's estimates (False).
        cycles: the cycles of a candidate (default :func:`genome_cycles`).
        seconds: how long a run takes; with ``jitter``, a uniform draw in ``[0, seconds]``.
        jitter: draw each run's length at random.
        fail_every: fail the runs of the candidates :func:`~tests.search.fakes.should_fail` picks.
        gate: when given, every run waits for it (at most 10 s) before it starts.
        keeps_log: name a run log in the candidate's project folder (none is written, so the
            run cannot be learnt from).

    Attributes:
        measured: arch keys in the order their runs started.
        calls / running / peak: runs started, running now, the most at once.
        started: set when a first run starts.
    """

    title: ClassVar[str] = "test double"
    needs_project: ClassVar[bool] = True

    def __init__(self, name: str = "double", *, hardware: bool = False,
                 cycles: Callable[[CandidateSpec], int] = genome_cycles, seconds: float = 0.0,
                 jitter: bool = False, fail_every: int = 0, gate: threading.Event | None = None,
                 keeps_log: bool = False) -> None:
        self.name = name  # type: ignore[misc]
        self.measures_hardware = hardware  # type: ignore[misc]
        self.cycles, self.seconds, self.jitter = cycles, seconds, jitter
        self.fail_every, self.gate, self.keeps_log = fail_every, gate, keeps_log
        self.measured: list[str] = []
        self.calls = self.running = self.peak = 0
        self.started = threading.Event()
        self._lock = threading.Lock()

    def identity(self) -> str:
        return f"{self.name}:1"

    def measure_candidate(self, spec: CandidateSpec, projects: ProjectSource | None = None,
                          timeout_s: float | None = None) -> Measurement:
        assert projects is not None and projects.folder(spec).name == spec.arch.key
        self.started.set()
        if self.gate is not None:
            self.gate.wait(10)
        with self._lock:
            self.measured.append(spec.arch.key)
            self.calls += 1
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(self.seconds * (random.random() if self.jitter else 1.0))
            if should_fail(spec.arch, self.fail_every):
                raise MeasurementError(f"simulated run failure of {spec.arch.key}")
            log = str(projects.folder(spec) / "logs" / "run.log") if self.keeps_log else None
            return Measurement(self.cycles(spec), [], CLUSTER_HZ, self.name, not self.measures_hardware,
                               {self.name: "1"}, log_path=log)
        finally:
            with self._lock:
                self.running -= 1
