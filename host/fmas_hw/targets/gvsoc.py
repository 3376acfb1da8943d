"""The ``gvsoc`` target: build a generated project with the GAP SDK and run it on GVSoC.

The runner's ``prepare`` runs ``make clean all platform=gvsoc`` (as the board's does,
:class:`~.hardware.HardwareRunner`), ``run`` runs ``make run platform=gvsoc`` and parses the
cycles the firmware prints: fmas protocol lines when present, else AutoTiler per-layer lines
(gap8-toolchain.md §3.3). Every build and run log is kept under ``<project>/logs/``
(``gvsoc-build-<timestamp>.log``, ``gvsoc-<timestamp>.log``).

GVSoC is cycle-approximate (GreenWaves quote errors below 10-20 %), but its figures come from
executing the compiled firmware, so they are recorded as measured, not estimated. Its settings
(:class:`~.hardware_settings.GvsocSettings`) default to ``hw/gap8.toml`` ``[gvsoc]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from ..errors import ProtocolError
from ..gap8.candidate_file import OPEN_ROUTE
from ..toolchain.project_build import make_failure, run_make
from ..toolchain.sdk_env import check_sdk, sdk_versions
from .hardware import HardwareRunner, HardwareTarget
from .hardware_settings import GvsocSettings
from .measurement import Measurement
from .options import TargetOptions
from .project_records import checked_output, expected_checksum
from .protocol import FirmwareStatusError, has_fmas_lines, parse_log


class GvsocTarget(HardwareTarget):
    """Cycles from the GVSoC simulator of the GAP SDK.

    Args:
        settings: make arguments, limits and clock; default :meth:`GvsocSettings.from_hw()
            <.hardware_settings.HardwareSettings.from_hw>`.
        env: environment to find the SDK in and run make with; ``None`` uses ``os.environ``.
        route: how the candidates' projects are generated.
    """

    name: ClassVar[str] = "gvsoc"
    title: ClassVar[str] = "GVSoC"
    summary: ClassVar[str] = "the GAP SDK's GVSoC simulator (needs the GAP SDK)"
    measures_hardware: ClassVar[bool] = True

    @classmethod
    def from_options(cls, options: TargetOptions) -> GvsocTarget:
        """GVSoC with its defaults, building ``options.route``."""
        return cls(route=options.route)

    def __init__(self, settings: GvsocSettings | None = None, *, env: Mapping[str, str] | None = None,
                 route: str = OPEN_ROUTE) -> None:
        super().__init__(GvsocRunner(settings, env=env), route)


class GvsocRunner(HardwareRunner):
    """Builds a project and runs it on GVSoC once.

    Args:
        settings: make arguments, limits and clock; default :meth:`GvsocSettings.from_hw()
            <.hardware_settings.HardwareSettings.from_hw>`.
        env: environment to find the SDK in and run make with; ``None`` uses ``os.environ``.
    """

    name: ClassVar[str] = "gvsoc"
    title: ClassVar[str] = "GVSoC"
    settings: GvsocSettings

    def __init__(self, settings: GvsocSettings | None = None, *, env: Mapping[str, str] | None = None) -> None:
        super().__init__(settings or GvsocSettings.from_hw(), env)

    def run(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """Run the built project on GVSoC once (``make run platform=gvsoc``).

        Args:
            project_dir: the project :meth:`prepare` built.
            timeout_s: wall-clock limit; ``None`` uses ``default_timeout_s``.

        Returns:
            The measured cycles, ``source="gvsoc"``, with the kept log's path.

        Raises:
            SdkMissingError: the SDK or toolchain is missing.
            RunTimeoutError: the simulation ran past the limit (process group killed).
            FirmwareStatusError: the firmware reported a failure (``FMAS:END status != 0``).
            BuildError: make exited non-zero without a firmware status to explain it.
            ProtocolError: no cycle report, inconsistent totals or all-zero cycles.
        """
        sdk = check_sdk(("sdk", "toolchain"), self.env)
        limit = self.default_timeout_s if timeout_s is None else timeout_s
        status, log = run_make(
            sdk, project_dir, self.settings.run_args, log_stem="gvsoc", timeout_s=limit,
            env=self.env, what="GVSoC run",
        )
        if status != 0:
            self._raise_run_failure(status, log)
        result = parse_log(log)
        return checked_output(result.to_measurement(
            "gvsoc", self.settings.cluster_freq_hz, tool_versions=sdk_versions(sdk), log_path=str(log),
            expected_checksum=expected_checksum(project_dir),
        ))

    def _raise_run_failure(self, status: int, log: Path) -> None:
        """A failed ``make run``: the firmware's own status explains it best, when it printed one."""
        text = log.read_text(errors="replace")
        if has_fmas_lines(text.splitlines()):
            try:
                parse_log(log)
            except FirmwareStatusError:
                raise
            except ProtocolError:
                pass  # the make failure below is the more useful message
        raise make_failure("GVSoC run", self.settings.run_args, status, log)
