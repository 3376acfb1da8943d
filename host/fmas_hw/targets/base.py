"""The measurement-target interface: a candidate network in, its GAP8 cycles out.

A :class:`Target` answers one question, the cycles of a candidate (:meth:`Target.measure_candidate`),
as a :class:`~.measurement.Measurement`, and names what decides its figures besides the candidate
(:meth:`Target.identity`), so results measured under another identity are never mixed. The
estimate answers from the architecture alone (:mod:`.estimate`); the targets that measure a
project per candidate (:class:`ProjectTarget`: GVSoC, the board, the simulated GAP8) compose a
:class:`~.runner.ProjectRunner` with the :class:`ProjectSource` a caller gives them.

The Python API takes target instances; the command line's names map to them in :mod:`.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..errors import ConfigError, MeasurementError
from ..gap8.candidate_file import CandidateSpec, read_candidate
from .measurement import Measurement
from .options import TargetOptions
from .runner import ProjectRunner


class ProjectSource(Protocol):
    """Where a target that measures a project gets the GAP8 project of a candidate
    (:class:`fmas_hw.gap8.generated_projects.GeneratedProjects`)."""

    def folder(self, spec: CandidateSpec) -> Path:
        """Where the project of ``spec`` is (or will be) written; nothing is generated."""
        ...

    def project_for(self, spec: CandidateSpec) -> Path:
        """The project folder of ``spec``, generated when needed."""
        ...


class Target(ABC):
    """A place where a candidate network is turned into cycle counts.

    Attributes:
        name: the name its measurements carry as ``source`` (the registry's name for the
            command line's targets: ``"estimate"``, ``"gvsoc"``, ``"board"``, ``"simulated"``).
        title: how reports name the target (``"estimate"``, ``"GVSoC"``, ``"board"``).
        summary: one line on what the target is, for ``--target``'s help.
        measures_hardware: True when the cycles come from executing the compiled firmware (on the
            GVSoC simulator or on a chip), False for a model's figures (the analytical estimate,
            the simulated target): decides the "measured" / "estimated" label.
        needs_project: True when :meth:`measure_candidate` measures a per-candidate project
            folder (and so needs a :class:`ProjectSource`, a work folder, and time); False for a
            target that answers from the architecture alone, cheaply.
        needs_exclusive_device: True when runs must be serialised on one physical device.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str] = ""
    measures_hardware: ClassVar[bool]
    needs_project: ClassVar[bool] = False
    needs_exclusive_device: ClassVar[bool] = False

    @classmethod
    def from_options(cls, options: TargetOptions) -> Target:
        """The target configured by the command-line settings that concern it (a target the
        registry names overrides this; others take no settings)."""
        return cls()

    @abstractmethod
    def identity(self) -> str:
        """What decides this target's figures besides the candidate, as one string.

        Stored with every search's evaluation settings: a search refuses to resume (and a store
        row is not reused) under another identity, e.g. a recalibrated cycle model or another SDK.
        """

    @abstractmethod
    def measure_candidate(self, spec: CandidateSpec, projects: ProjectSource | None = None,
                          timeout_s: float | None = None) -> Measurement:
        """The cycles of one candidate network (what the search's latency objective asks).

        Args:
            spec: the candidate and its network options.
            projects: where a target that needs a project gets the candidate's GAP8 project.
            timeout_s: limit of one run of a project.

        Raises:
            ConfigError: the target needs ``projects`` and got none.
            AdaptationError: the candidate cannot run on GAP8.
            MeasurementError: the candidate's measurement failed.
        """

    def measure_project(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """The cycles of the candidate a generated project holds (``fmas-hw measure --project``).

        The default reads the project's ``candidate.json`` and measures that candidate.

        Raises:
            MeasurementError: ``candidate.json`` is missing or malformed.
            The errors of :meth:`measure_candidate`.
        """
        return self.measure_candidate(read_candidate(project_dir).spec, timeout_s=timeout_s)

    def check_ready(self) -> None:
        """Check, in seconds and before any project is generated, that this target can measure:
        what a search calls before it creates its store, so a missing SDK or board fails the
        command at once instead of after the first candidate's evaluation. A target that needs
        nothing installed (the estimate) is always ready.

        Raises:
            MeasurementError: what is missing (e.g. ``SdkMissingError``, ``DeviceNotFoundError``),
                saying how to get it.
        """
        return None

    def on_port(self, port: str | None) -> Target:
        """This target on the device at ``port`` (a board's serial port); a target that runs on
        no device is the same everywhere and returns itself."""
        return self

    def layer_features(self, spec: CandidateSpec) -> list[dict[str, Any]] | None:
        """The cycle model's per-layer features of ``spec`` (what ``fmas-hw calibrate`` joins with
        measured cycles), for a target that computes them; None for the others."""
        return None

    def checked(self, measurement: Measurement) -> Measurement:
        """``measurement``, once it is known to be this target's and honestly labelled: the
        check made where figures enter a search or a command.

        Raises:
            MeasurementError: it names another source, or a model's figures claim to be measured.
        """
        if measurement.source != self.name:
            raise MeasurementError(f"the {self.name!r} target returned figures labelled "
                                   f"{measurement.source!r}: a measurement names the target it comes from")
        # The one rule that keeps reports honest: a model's figures never pass as hardware.
        if not self.measures_hardware and not measurement.estimated:
            raise MeasurementError(f"a measurement from the {self.name!r} target must be estimated=True")
        return measurement


class ProjectTarget(Target):
    """A target that measures each candidate's generated project with a :class:`ProjectRunner`.

    Args:
        runner: builds and runs the projects; its ``name`` is the target's.
    """

    needs_project: ClassVar[bool] = True

    def __init__(self, runner: ProjectRunner) -> None:
        self.runner = runner

    def project(self, spec: CandidateSpec, projects: ProjectSource) -> Path:
        """The folder of ``spec``'s project, ready for the runner (generated when needed)."""
        return projects.project_for(spec)

    def measure_candidate(self, spec: CandidateSpec, projects: ProjectSource | None = None,
                          timeout_s: float | None = None) -> Measurement:
        """Get (or generate) the candidate's project, then build and run it.

        Raises:
            ConfigError: no ``projects`` to get the project from.
            The errors of :meth:`project` and of the runner's ``measure``.
        """
        if projects is None:
            raise ConfigError(f"measuring on {self.name} uses a GAP8 project per candidate: "
                              "give a work folder for the projects")
        return self.runner.measure(self.project(spec, projects), timeout_s=timeout_s)

    def measure_project(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """Build and run a generated project with this target's runner."""
        return self.runner.measure(project_dir, timeout_s=timeout_s)
