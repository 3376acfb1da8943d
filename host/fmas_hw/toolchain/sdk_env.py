"""Find the GAP SDK through its usual environment and say what is missing or which versions it has.

The GAP SDK cannot be installed from a package registry (SPEC §6.3): it lives in a checkout named by
``GAP_SDK_HOME`` (the ``Dockerfile.gapsdk`` image sets it), configured per board by sourcing a
script such as ``configs/gapuino_v3.sh`` in every shell. This module

* locates the parts (:func:`find_sdk`) and says exactly what is missing (:func:`check_sdk`);
* composes ``bash -c "source <config> && cd <project> && make <args>"`` (:func:`sdk_shell_command`);
* reads tool versions to record with each measurement (:func:`sdk_versions`).

Running that command with a kept log is :mod:`.processes`; building a project with it is
:mod:`.project_build`. The SDK's open sources that the tests compile against are
:mod:`.sdk_sources`.

Environment variables: ``GAP_SDK_HOME``; ``FMAS_GAP_CONFIG`` (config script: a path, or a name
under ``$GAP_SDK_HOME/configs`` such as ``ai_deck``; default ``gapuino_v3``);
``GAP_RISCV_GCC_TOOLCHAIN`` (default ``/usr/lib/gap_riscv_toolchain``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import SdkMissingError

DEFAULT_CONFIG = "gapuino_v3"
DEFAULT_TOOLCHAIN = "/usr/lib/gap_riscv_toolchain"
AUTOTILER_LIB = Path("tools/autotiler_v3/Autotiler/LibTile.a")
AUTOTILER_MAKEFILE = Path("tools/autotiler_v3/Makefile")
TOOLCHAIN_GCC = Path("bin/riscv32-unknown-elf-gcc")

#: SDK parts :func:`check_sdk` can require.
COMPONENTS = ("sdk", "toolchain", "autotiler", "nntool")

_GET_SDK = (
    "Build the SDK image and run fmas-hw inside it: docker build -f Dockerfile.gapsdk -t fmas-hw-gapsdk . "
    "(see Dockerfile.gapsdk), or use --target estimate, which needs nothing installed."
)

_HOW_TO_FIX = {
    "sdk": "set GAP_SDK_HOME to a gap_sdk checkout built for GAP8 (the Docker image sets it)",
    "toolchain": "install the GAP RISC-V toolchain (gap_riscv_toolchain_ubuntu, ./install.sh "
    f"{DEFAULT_TOOLCHAIN}) or point GAP_RISCV_GCC_TOOLCHAIN at it",
    "autotiler": "the AutoTiler library is licensed by GreenWaves and not redistributed: run "
    "'make autotiler' in the SDK (registration, licence), or supply your LibTile.a at this path "
    "(e.g. mount it into the Docker image)",
    "nntool": "build NNTool in the SDK ('make nntool') so that 'nntool' is on PATH after sourcing "
    "the config script",
}


@dataclass(frozen=True)
class SdkEnv:
    """Where the parts of the GAP SDK are (or would be); ``None`` when not derivable."""

    home: Path | None
    config_script: Path | None
    toolchain: Path
    autotiler_lib: Path | None
    nntool: Path | None

    def problems(self) -> dict[str, str]:
        """Component -> what is wrong with it, for every component that is not usable."""
        found: dict[str, str] = {}
        if self.home is None:
            found["sdk"] = "GAP_SDK_HOME is not set"
        elif not self.home.is_dir():
            found["sdk"] = f"GAP_SDK_HOME={self.home} is not a directory"
        elif self.config_script is None or not self.config_script.is_file():
            found["sdk"] = f"config script {self.config_script} not found (FMAS_GAP_CONFIG)"
        if not (self.toolchain / TOOLCHAIN_GCC).is_file():
            found["toolchain"] = f"{self.toolchain / TOOLCHAIN_GCC} not found"
        if self.autotiler_lib is None or not self.autotiler_lib.is_file():
            where = self.autotiler_lib or f"$GAP_SDK_HOME/{AUTOTILER_LIB}"
            found["autotiler"] = f"AutoTiler library {where} not found"
        if self.nntool is None:
            found["nntool"] = "nntool not found on PATH nor under $GAP_SDK_HOME/tools/nntool"
        return found


def _config_script(home: Path | None, value: str | None) -> Path | None:
    """Resolve FMAS_GAP_CONFIG: an existing path, else a name under ``$GAP_SDK_HOME/configs``."""
    name = value or DEFAULT_CONFIG
    if os.sep in name or Path(name).is_file():
        return Path(name).expanduser()
    if home is None:
        return None
    return home / "configs" / (name if name.endswith(".sh") else f"{name}.sh")


def _find_nntool(home: Path | None, path: str | None) -> Path | None:
    on_path = shutil.which("nntool", path=path)
    if on_path:
        return Path(on_path)
    if home is not None and (home / "tools" / "nntool").exists():
        return home / "tools" / "nntool"
    return None


def find_sdk(env: Mapping[str, str] | None = None) -> SdkEnv:
    """Locate the SDK parts from the environment (nothing is checked here).

    Args:
        env: the environment to read; ``None`` reads ``os.environ``.

    Returns:
        The paths where the SDK parts are expected.
    """
    env = os.environ if env is None else env
    home = Path(env["GAP_SDK_HOME"]).expanduser() if env.get("GAP_SDK_HOME") else None
    return SdkEnv(
        home=home,
        config_script=_config_script(home, env.get("FMAS_GAP_CONFIG")),
        toolchain=Path(env.get("GAP_RISCV_GCC_TOOLCHAIN") or DEFAULT_TOOLCHAIN),
        autotiler_lib=home / AUTOTILER_LIB if home is not None else None,
        nntool=_find_nntool(home, env.get("PATH")),
    )


def check_sdk(
    require: Iterable[str] = ("sdk", "toolchain", "autotiler"),
    env: Mapping[str, str] | None = None,
) -> SdkEnv:
    """Find the SDK and make sure the required parts are there.

    Args:
        require: components among :data:`COMPONENTS`.
        env: the environment to read; ``None`` reads ``os.environ``.

    Returns:
        The located SDK.

    Raises:
        SdkMissingError: one or more required parts are missing; the message lists each with how
            to get it.
        ValueError: ``require`` names an unknown component (a programming error).
    """
    required = list(require)
    unknown = [c for c in required if c not in COMPONENTS]
    if unknown:
        raise ValueError(f"unknown SDK component(s) {unknown}; known: {COMPONENTS}")
    sdk = find_sdk(env)
    problems = sdk.problems()
    missing = [c for c in required if c in problems]
    if missing:
        lines = [f"  - {c}: {problems[c]}; {_HOW_TO_FIX[c]}" for c in missing]
        raise SdkMissingError(
            "the GAP SDK is not usable here, missing:\n" + "\n".join(lines) + "\n" + _GET_SDK
        )
    return sdk


def sdk_shell_command(
    config_script: str | Path, project_dir: str | Path, make_args: Sequence[str]
) -> list[str]:
    """The argv that runs ``make`` in a project with the SDK configured.

    The SDK's config script must be sourced in the same shell as ``make`` (it exports the
    toolchain, AutoTiler and rules variables), hence one ``bash -c``.

    Args:
        config_script: e.g. ``$GAP_SDK_HOME/configs/gapuino_v3.sh``.
        project_dir: the generated GAP8 project.
        make_args: targets and variables, e.g. ``["clean", "all", "platform=gvsoc"]``.

    Returns:
        ``["bash", "-c", "source <config> && cd <project> && make <args>"]``, each part quoted.
    """
    make = " ".join(["make", *(shlex.quote(str(a)) for a in make_args)])
    script = (
        f"source {shlex.quote(str(config_script))} && cd {shlex.quote(str(project_dir))} && {make}"
    )
    return ["bash", "-c", script]


def _git_describe(home: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(home), "describe", "--tags", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def _tiler_version(home: Path) -> str | None:
    try:
        text = (home / AUTOTILER_MAKEFILE).read_text(errors="replace")
    except OSError:
        return None
    match = re.search(r"^\s*TILER_VER\s*[:?+]?=\s*(\S+)", text, re.MULTILINE)
    return match.group(1) if match else None


def sdk_versions(sdk: SdkEnv) -> dict[str, str]:
    """Versions to record with a measurement (what is readable without running the SDK).

    Args:
        sdk: the located SDK.

    Returns:
        ``gap_sdk`` (``git describe`` of the checkout), ``autotiler`` (``TILER_VER``) and
        ``gap_config`` (config script name), each only when known.
    """
    versions: dict[str, str] = {}
    if sdk.home is None:
        return versions
    describe = _git_describe(sdk.home)
    if describe:
        versions["gap_sdk"] = describe
    tiler = _tiler_version(sdk.home)
    if tiler:
        versions["autotiler"] = tiler
    if sdk.config_script is not None:
        versions["gap_config"] = sdk.config_script.stem
    return versions
