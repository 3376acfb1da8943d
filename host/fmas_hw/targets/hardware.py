"""What the GVSoC and board targets share: they measure the firmware of a generated project.

Both build the candidate's GAP8 project with the GAP SDK and read the cycles the firmware prints,
so their identity is the toolchain that made the firmware (the SDK tag, the AutoTiler version)
and the version of the line protocol that reported it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError
from ..gap8.candidate_file import CandidateSpec
from .base import Measurement, ProjectSource, Target
from .protocol import PROTOCOL_VERSION
from .sdk_env import check_sdk, find_sdk, sdk_versions

#: The SDK facts of :func:`~.sdk_env.sdk_versions` that decide the firmware's cycles.
IDENTITY_KEYS = ("gap_sdk", "autotiler")


class HardwareTarget(Target):
    """A target that builds a project's firmware and runs it (GVSoC, board).

    Subclasses set ``env`` (the environment to find the SDK in; ``None`` uses ``os.environ``).
    """

    env: Mapping[str, str] | None = None

    def identity(self) -> str:
        """``<name>:gap_sdk=<tag>,autotiler=<version>,protocol=<n>`` ("unknown" when unreadable)."""
        sdk = find_sdk(self.env)
        known = sdk_versions(sdk) if sdk.home is not None and sdk.home.is_dir() else {}
        parts = [f"{key}={known.get(key, 'unknown')}" for key in IDENTITY_KEYS]
        return f"{self.name}:{','.join([*parts, f'protocol={PROTOCOL_VERSION}'])}"

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
