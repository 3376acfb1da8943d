"""The project-runner interface: build a generated GAP8 project, run it once, read its cycles.

A :class:`ProjectRunner` knows nothing of candidates or searches: it takes a project folder
(what ``fmas-hw export`` or a search writes) and returns a :class:`~.measurement.Measurement`.
GVSoC and the board run the firmware (:mod:`.gvsoc`, :mod:`.board`); the simulated runner
(:mod:`.simulated`) computes what a run would print. A target that measures candidates on
projects (:class:`~.base.ProjectTarget`) composes one runner with a source of projects.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from .measurement import Measurement


class ProjectRunner(ABC):
    """Builds and runs a generated project.

    Implementations keep every artefact in the project folder (logs under ``<project>/logs``),
    so a failing project can be rebuilt and rerun by hand.

    Attributes:
        name: the source its measurements carry (``"gvsoc"``, ``"board"``, ``"simulated"``).
        title: how messages name it (``"GVSoC"``, ``"board"``, ``"simulated GAP8"``).
        default_timeout_s: run limit used when :meth:`run` gets ``timeout_s=None``.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    default_timeout_s: float = 600.0  # instances may set their own

    @abstractmethod
    def prepare(self, project_dir: str | Path) -> None:
        """Build the project so that :meth:`run` can execute it.

        Args:
            project_dir: the generated GAP8 project (Makefile, sources, model).

        Raises:
            SdkMissingError: a tool the build needs is not installed.
            BuildError: the build failed; the message names the kept log and shows its tail.
            RunTimeoutError: the build ran past the runner's build timeout (process group killed).
            MeasurementError: the project lacks what the runner reads.
        """

    @abstractmethod
    def run(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """Execute the prepared project once and return its cycles.

        Args:
            project_dir: a project :meth:`prepare` has built.
            timeout_s: wall-clock limit of one execution (a runner that retries applies it to
                each attempt); ``None`` uses :attr:`default_timeout_s`.

        Returns:
            The measurement, with ``log_path`` pointing at the kept run log.

        Raises:
            SdkMissingError: a tool the run needs is not installed.
            RunTimeoutError: the run did not finish within ``timeout_s``.
            DeviceNotFoundError: (board) no board on the configured or auto-detected port.
            ProtocolError: the output has no cycle lines, is inconsistent or reports zero cycles.
            MeasurementError: any other failure of the run (e.g. the firmware reported an error).
        """

    def measure(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """Build then run: :meth:`prepare` followed by :meth:`run`.

        Args:
            project_dir: the generated GAP8 project.
            timeout_s: limit for the run step (the build has its own limit).

        Raises:
            The union of what :meth:`prepare` and :meth:`run` raise.
        """
        self.prepare(project_dir)
        return self.run(project_dir, timeout_s=timeout_s)
