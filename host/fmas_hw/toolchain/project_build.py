"""Build a generated GAP8 project: ``make <args>`` inside it with the SDK configured, log kept.

What the gvsoc and board targets and ``fmas-hw flash`` share: check that the folder is a project,
check the SDK (:func:`~.sdk_env.check_sdk`), run ``make`` through the SDK's config script
(:func:`~.sdk_env.sdk_shell_command`, :func:`~.processes.run_logged`) and turn a non-zero exit into
a :class:`~fmas_hw.errors.BuildError` that names the log and shows its tail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..errors import BuildError
from .processes import log_tail, new_log_path, run_logged
from .sdk_env import SdkEnv, check_sdk, sdk_shell_command


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
    require: Iterable[str],
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
