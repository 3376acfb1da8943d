"""Run a command to completion or in the background, with everything it prints kept in a log file.

The GAP SDK's ``make`` spawns further processes (gapy, GVSoC, OpenOCD), so every command runs in
its own session and a timeout kills the whole process group, never only ``make``. Logs land under
``<project>/logs/`` with a timestamped name and are never overwritten, so a failing candidate's
build or run can be read afterwards.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import RunTimeoutError


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
