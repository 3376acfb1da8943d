"""What the GVSoC and board targets share: they measure the firmware of a generated project.

Both build the candidate's GAP8 project with the GAP SDK (:meth:`HardwareTarget.prepare`, make
arguments and limits from their :mod:`settings <.hardware_settings>`) and read the cycles the
firmware prints, so their identity is the toolchain that made the firmware (the SDK tag, the
AutoTiler version) and the version of the line protocol that reported it. Each subclass keeps only
how it runs the firmware and reads its output (:meth:`~.base.Target.run`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from ..errors import ConfigError
from ..gap8.candidate_file import CandidateSpec
from .base import Measurement, ProjectSource, Target
from .hardware_settings import HardwareSettings
from .project_build import build_project
from .protocol import PROTOCOL_VERSION
from .sdk_env import check_sdk, find_sdk, sdk_versions

#: The SDK facts of :func:`~.sdk_env.sdk_versions` that decide the firmware's cycles.
IDENTITY_KEYS = ("gap_sdk", "autotiler")


class HardwareTarget(Target):
    """A target that builds a project's firmware and runs it (GVSoC, board).

    Args:
        settings: build and run arguments, limits and clock (:class:`~.hardware_settings.HardwareSettings`).
        env: environment to find the SDK in and run make with; ``None`` uses ``os.environ``.
    """

    needs_project: ClassVar[bool] = True

    def __init__(self, settings: HardwareSettings, env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.env = env
        self.default_timeout_s = settings.default_timeout_s  # the Target interface's run limit

    def identity(self) -> str:
        """``<name>:gap_sdk=<tag>,autotiler=<version>,protocol=<n>`` ("unknown" when unreadable)."""
        known = self.tool_versions()
        parts = [f"{key}={known.get(key, 'unknown')}" for key in IDENTITY_KEYS]
        return f"{self.name}:{','.join([*parts, f'protocol={PROTOCOL_VERSION}'])}"

    def tool_versions(self) -> dict[str, str]:
        """The SDK's versions (:func:`~.sdk_env.sdk_versions`); empty when there is no SDK."""
        sdk = find_sdk(self.env)
        return sdk_versions(sdk) if sdk.home is not None and sdk.home.is_dir() else {}

    def check_ready(self) -> None:
        """The GAP SDK, its toolchain and the AutoTiler are installed.

        Raises:
            SdkMissingError: listing each missing part and how to get it.
        """
        check_sdk(env=self.env)

    def measure_candidate(self, spec: CandidateSpec, projects: ProjectSource | None = None,
                          timeout_s: float | None = None) -> Measurement:
        """Generate (or reuse) the candidate's project, then build and run it.

        Raises:
            ConfigError: no ``projects`` to get the project from.
            SdkMissingError: the SDK is missing (checked before a project is generated).
            The errors of :meth:`measure`.
        """
        if projects is None:
            raise ConfigError(f"measuring on {self.name} generates a GAP8 project per candidate: "
                              "give a work folder for the projects")
        check_sdk(env=self.env)  # say what is missing before spending time generating a project
        return self.measure(projects.project_for(spec), timeout_s=timeout_s)

    def prepare(self, project_dir: str | Path) -> None:
        """Build the project with ``make <settings.build_args>`` (e.g. ``clean all platform=gvsoc``).

        The log is kept as ``<project>/logs/<name>-build-<timestamp>.log``.

        Raises:
            SdkMissingError: the SDK, toolchain or AutoTiler is missing.
            BuildError: no Makefile, or make failed (log path and last 20 lines in the message).
            RunTimeoutError: the build ran past ``settings.build_timeout_s`` (process group killed).
        """
        build_project(
            project_dir, self.settings.build_args, log_stem=f"{self.name}-build",
            timeout_s=self.settings.build_timeout_s, env=self.env, what=f"{self.title} build",
        )
