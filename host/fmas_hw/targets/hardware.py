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
from ..gap8.candidate_file import OPEN_ROUTE, CandidateSpec, project_route
from ..toolchain.project_build import build_project
from ..toolchain.sdk_env import check_sdk, find_sdk, sdk_versions
from .base import Measurement, ProjectSource, Target
from .hardware_settings import HardwareSettings
from .protocol import PROTOCOL_VERSION

#: Version of the open route's generated code (:data:`fmas_hw.gap8.open_codegen.BACKEND_VERSION`;
#: repeated here so that naming a target does not import the code generator, a test keeps them equal).
OPEN_BACKEND = "open-1"



def sdk_parts(route: str) -> tuple[str, ...]:
    """The SDK parts a project of ``route`` needs: only the AutoTiler routes need LibTile.a."""
    return ("sdk", "toolchain") if route == OPEN_ROUTE else ("sdk", "toolchain", "autotiler")


def project_sdk_parts(project_dir: str | Path) -> tuple[str, ...]:
    """The SDK parts the generated project in ``project_dir`` needs (its route decides)."""
    return sdk_parts(project_route(project_dir))

class HardwareTarget(Target):
    """A target that builds a project's firmware and runs it (GVSoC, board).

    Args:
        settings: build and run arguments, limits and clock (:class:`~.hardware_settings.HardwareSettings`).
        env: environment to find the SDK in and run make with; ``None`` uses ``os.environ``.
    """

    needs_project: ClassVar[bool] = True

    def __init__(self, settings: HardwareSettings, env: Mapping[str, str] | None = None,
                 route: str = OPEN_ROUTE) -> None:
        self.settings = settings
        self.env = env
        self.route = route
        self.default_timeout_s = settings.default_timeout_s  # the Target interface's run limit

    def identity(self) -> str:
        """``<name>:gap_sdk=<tag>,route=open,backend=<version>,protocol=<n>`` for the open route,
        ``...,route=autotiler,autotiler=<version>,...`` for the AutoTiler's ("unknown" when
        unreadable): figures of two code generators are never mixed."""
        known = self.tool_versions()
        generator = (f"backend={OPEN_BACKEND}" if self.route == OPEN_ROUTE
                     else f"autotiler={known.get('autotiler', 'unknown')}")
        return (f"{self.name}:gap_sdk={known.get('gap_sdk', 'unknown')},route={self.route},"
                f"{generator},protocol={PROTOCOL_VERSION}")

    def required_parts(self) -> tuple[str, ...]:
        """SDK parts the route needs: the open route builds without the AutoTiler library."""
        return sdk_parts(self.route)

    def tool_versions(self) -> dict[str, str]:
        """The SDK's versions (:func:`~fmas_hw.toolchain.sdk_env.sdk_versions`); empty when there is no SDK."""
        sdk = find_sdk(self.env)
        return sdk_versions(sdk) if sdk.home is not None and sdk.home.is_dir() else {}

    def check_ready(self) -> None:
        """The GAP SDK and its toolchain are installed (and the AutoTiler for its routes).

        Raises:
            SdkMissingError: listing each missing part and how to get it.
        """
        check_sdk(self.required_parts(), env=self.env)

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
        check_sdk(self.required_parts(), env=self.env)  # before spending time generating a project
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
            require=project_sdk_parts(project_dir),
        )
