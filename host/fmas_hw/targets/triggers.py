"""How the board target starts the firmware for each measurement attempt.

A :class:`Trigger` starts (resets) the firmware once per attempt, after the UART is open so that no
output is missed. :func:`make_trigger` turns a setting into one: ``"make-run"`` (default: ``make
run platform=board io=uart`` loads the binary over JTAG with OpenOCD and starts it), ``"reset"``
(pulse DTR/RTS: firmware already in flash reboots), ``"none"`` (someone else starts it), a command
(list of argv, e.g. an OpenOCD reset), a callable ``f(link)``, or any object with ``start(link)``,
``check()`` and ``stop()``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..errors import ConfigError, MeasurementError
from ..toolchain.processes import kill_group, log_tail, new_log_path, start_logged
from ..toolchain.project_build import check_project
from ..toolchain.sdk_env import check_sdk, sdk_shell_command
from .serial_link import SerialLink

#: The triggers a setting can name (besides a command, a callable or a :class:`Trigger`).
TRIGGER_NAMES = ("make-run", "reset", "none")


class TriggerFailedError(MeasurementError):
    """The command that starts the firmware (e.g. ``make run``) failed: retrying may help."""

    transient = True


@runtime_checkable
class Trigger(Protocol):
    """Starts (resets) the firmware on the board once per attempt."""

    def start(self, link: SerialLink) -> None:
        """Start the firmware; ``link`` is already open so no output is missed."""

    def check(self) -> None:
        """Raise if starting failed (called between reads)."""

    def stop(self) -> None:
        """Release what :meth:`start` started (never raises)."""


class CallbackTrigger:
    """A trigger calling ``callback(link)`` (e.g. a custom reset; tests count calls with it)."""

    def __init__(self, callback: Callable[[SerialLink], object]) -> None:
        self.callback = callback

    def start(self, link: SerialLink) -> None:
        self.callback(link)

    def check(self) -> None:
        return None

    def stop(self) -> None:
        return None


class ResetLinesTrigger(CallbackTrigger):
    """Reset by pulsing DTR/RTS, for boards whose reset is wired to the UART's modem lines."""

    def __init__(self, pulse_s: float = 0.1) -> None:
        super().__init__(lambda link: link.pulse_reset(pulse_s))


class CommandTrigger:
    """Run a command per attempt (``make run platform=board io=uart``, an OpenOCD reset...).

    Its output goes to ``<project_dir>/logs/<log_stem>-<timestamp>.log``; it is stopped (process
    group killed after ``grace_s``) when the attempt ends.

    Args:
        argv: the command.
        project_dir: the project whose ``logs/`` folder receives one log per attempt.
        env: its environment; ``None`` inherits ours.
        grace_s: how long :meth:`stop` lets it finish by itself.
        log_stem: log name prefix.
    """

    def __init__(
        self, argv: Sequence[str], project_dir: str | Path, env: Mapping[str, str] | None = None,
        grace_s: float = 5.0, log_stem: str = "board-run",
    ) -> None:
        self.argv = list(argv)
        self.project_dir = Path(project_dir)
        self.env = env
        self.grace_s = grace_s
        self.log_stem = log_stem
        self.log_path: Path | None = None
        self._proc: subprocess.Popen | None = None

    def start(self, link: SerialLink) -> None:
        self.log_path = new_log_path(self.project_dir, self.log_stem)
        self._proc = start_logged(self.argv, self.log_path, self.env)

    def check(self) -> None:
        """Fail fast when the command died, instead of waiting for the handshake timeout.

        Raises:
            TriggerFailedError: the command exited non-zero before the run ended.
        """
        status = None if self._proc is None else self._proc.poll()
        if status:
            raise TriggerFailedError(
                f"'{' '.join(self.argv)}' exited with status {status} before the run ended. "
                f"Log: {self.log_path}\n--- last lines ---\n{log_tail(self.log_path or '', 20)}"
            )

    def stop(self) -> None:
        if self._proc is None:
            return
        try:
            self._proc.wait(timeout=self.grace_s)
        except subprocess.TimeoutExpired:
            kill_group(self._proc)
        self._proc = None


class _NoTrigger(CallbackTrigger):
    def __init__(self) -> None:
        super().__init__(lambda link: None)


#: What :func:`make_trigger` accepts.
TriggerSpec = str | Sequence[str] | Callable[[SerialLink], object] | Trigger


def make_trigger(
    spec: TriggerSpec, project: Path, run_args: Sequence[str], env: Mapping[str, str] | None = None
) -> Trigger:
    """The trigger a setting names, for one measurement of ``project``.

    Args:
        spec: a name of :data:`TRIGGER_NAMES`, a command, a callable ``f(link)`` or a trigger.
        project: the built project (``make-run`` runs in it; commands log to its ``logs/``).
        run_args: make arguments of the ``make-run`` trigger.
        env: environment to find the SDK in and run commands with; ``None`` uses ``os.environ``.

    Raises:
        SdkMissingError: ``make-run`` needs the SDK and it is missing.
        BuildError: ``make-run`` in a folder without a Makefile.
        ConfigError: ``spec`` is none of the above.
    """
    if isinstance(spec, Trigger):
        return spec
    if spec == "make-run":
        sdk = check_sdk(("sdk", "toolchain"), env)
        argv = sdk_shell_command(sdk.config_script or "", check_project(project), run_args)
        return CommandTrigger(argv, project, env)
    if spec == "reset":
        return ResetLinesTrigger()
    if spec == "none":
        return _NoTrigger()
    if callable(spec):
        return CallbackTrigger(spec)
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        return CommandTrigger(list(spec), project, env)
    raise ConfigError(
        f"unknown board trigger {spec!r}: use 'make-run', 'reset', 'none', a command "
        "(list of arguments) or a callable"
    )
