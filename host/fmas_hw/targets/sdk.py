"""Find the GAP SDK through its usual environment and run ``make`` inside it.

The GAP SDK cannot be installed from a package registry (SPEC §6.3): it lives in a checkout named by
``GAP_SDK_HOME`` (the ``Dockerfile.gapsdk`` image sets it), configured per board by sourcing a
script such as ``configs/gapuino_v3.sh`` in every shell. This module

* locates the parts (:func:`find_sdk`) and says exactly what is missing (:func:`check_sdk`);
* composes ``bash -c "source <config> && cd <project> && make <args>"`` (:func:`sdk_shell_command`);
* runs it with a timeout, logging everything to a kept file and killing the whole process group on
  timeout (:func:`run_logged`);
* reads tool versions to record with each measurement (:func:`sdk_versions`).

Environment variables: ``GAP_SDK_HOME``; ``FMAS_GAP_CONFIG`` (config script: a path, or a name
under ``$GAP_SDK_HOME/configs`` such as ``ai_deck``; default ``gapuino_v3``);
``GAP_RISCV_GCC_TOOLCHAIN`` (default ``/usr/lib/gap_riscv_toolchain``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError, RunTimeoutError, SdkMissingError

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


# ---- running commands with a kept log -----------------------------------------------------------


def new_log_path(project_dir: str | Path, stem: str) -> Path:
    """A fresh ``<project>/logs/<stem>-<UTC timestamp>.log`` (never overwrites an older log)."""
    logs = Path(project_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    base = f"{stem}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    path, n = logs / f"{base}.log", 1
    while path.exists():
        path, n = logs / f"{base}-{n}.log", n + 1
    return path


def log_tail(path: str | Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(log unreadable)"
    return "\n".join(text.splitlines()[-lines:])


def kill_group(proc: subprocess.Popen, grace_s: float = 2.0) -> None:
    """Terminate ``proc`` and every process of its session (make spawns gapy, gvsoc, openocd)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def start_logged(
    argv: Sequence[str], log_path: str | Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen:
    """Start ``argv`` in its own session with stdout and stderr appended to ``log_path``.

    Returns:
        The :class:`subprocess.Popen`; stop it with :func:`kill_group`.
    """
    with open(log_path, "ab") as log:
        log.write(("$ " + shlex.join(argv) + "\n").encode())
        log.flush()
        # The child holds its own copy of the descriptor, so closing ours is fine.
        return subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: a timeout kills make and its children
            env=None if env is None else dict(env),
        )


def run_logged(
    argv: Sequence[str],
    log_path: str | Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    what: str = "command",
) -> int:
    """Run ``argv`` to completion with its output in ``log_path``.

    Args:
        argv: the command (e.g. from :func:`sdk_shell_command`).
        log_path: file receiving the command line, stdout and stderr; kept afterwards.
        timeout_s: wall-clock limit.
        env: environment of the command; ``None`` inherits ours.
        what: what is running, for the error message (e.g. ``"GVSoC run"``).

    Returns:
        The exit status.

    Raises:
        RunTimeoutError: the command ran past ``timeout_s``; its process group was killed.
    """
    proc = start_logged(argv, log_path, env)
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise RunTimeoutError(
            f"{what} did not finish within {timeout_s:g} s and was killed; raise the timeout if "
            f"the network is large. Log: {log_path}\n--- last lines ---\n{log_tail(log_path)}"
        ) from None
    finally:
        if proc.poll() is None:  # e.g. KeyboardInterrupt while waiting
            kill_group(proc)


# ---- make in a project --------------------------------------------------------------------------


def check_project(project_dir: str | Path) -> Path:
    """The absolute project folder, after checking it holds a Makefile.

    Raises:
        BuildError: the folder or its Makefile does not exist.
    """
    path = Path(project_dir).resolve()
    if not (path / "Makefile").is_file():
        raise BuildError(
            f"{path} is not a GAP8 project (no Makefile there): generate it first "
            "(fmas-hw export) and pass its folder"
        )
    return path


def run_make(
    sdk: SdkEnv,
    project_dir: str | Path,
    make_args: Sequence[str],
    *,
    log_stem: str,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    what: str = "make",
) -> tuple[int, Path]:
    """Run ``make <make_args>`` in the project with the SDK sourced; keep the log.

    Args:
        sdk: the located SDK (:func:`check_sdk`).
        project_dir: the GAP8 project.
        make_args: targets and variables.
        log_stem: log name prefix, e.g. ``"gvsoc"`` -> ``logs/gvsoc-<timestamp>.log``.
        timeout_s: wall-clock limit.
        env: environment of make; ``None`` inherits ours.
        what: what is running, for error messages.

    Returns:
        ``(exit status, log path)``.

    Raises:
        BuildError: the project folder has no Makefile.
        RunTimeoutError: make ran past ``timeout_s`` (its process group was killed).
    """
    project = check_project(project_dir)
    log = new_log_path(project, log_stem)
    argv = sdk_shell_command(sdk.config_script or "", project, make_args)
    return run_logged(argv, log, timeout_s, env=env, what=what), log


def make_failure(what: str, make_args: Sequence[str], status: int, log: Path) -> BuildError:
    """The :class:`BuildError` for a make that exited with ``status`` (log path and tail)."""
    return BuildError(
        f"{what} failed: 'make {' '.join(make_args)}' exited with status {status}. "
        f"Full log: {log}\n--- last 20 lines ---\n{log_tail(log, 20)}"
    )


def build_project(
    project_dir: str | Path,
    make_args: Sequence[str],
    *,
    log_stem: str,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    require: Iterable[str] = ("sdk", "toolchain", "autotiler"),
    what: str = "build",
) -> Path:
    """Check the SDK, then build the project with ``make <make_args>``.

    Returns:
        The kept build log.

    Raises:
        SdkMissingError: a required SDK part is missing.
        BuildError: no Makefile, or make exited non-zero (message: log path and last 20 lines).
        RunTimeoutError: the build ran past ``timeout_s``.
    """
    sdk = check_sdk(require, env)
    status, log = run_make(
        sdk, project_dir, make_args, log_stem=log_stem, timeout_s=timeout_s, env=env, what=what
    )
    if status != 0:
        raise make_failure(what, make_args, status, log)
    return log
