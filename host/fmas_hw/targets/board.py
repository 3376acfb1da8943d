"""The ``board`` target: build with the GAP SDK, run on a GAP8 board, read cycles from its UART.

``prepare`` builds with ``make clean all platform=board io=uart``. ``run`` locks the board's port
(one measurement per board at a time), opens the UART (115200 8N1, port given or found by USB
VID:PID), starts the firmware through a pluggable :class:`Trigger` and reads one fmas protocol run
(:func:`~fmas_hw.targets.serial_link.read_run`). Transient failures (silence, lost or corrupted
lines, the port vanishing) are retried a bounded number of times, the trigger resetting the board
before each attempt. Every UART byte is kept in ``<project>/logs/board-<timestamp>.log``.

Triggers: ``"make-run"`` (default: ``make run platform=board io=uart`` loads the binary over JTAG
with OpenOCD and starts it), ``"reset"`` (pulse DTR/RTS: firmware already in flash reboots),
``"none"`` (someone else starts it), a command (list of argv, e.g. an OpenOCD reset), a callable
``f(link)``, or any object with ``start(link)``, ``check()`` and ``stop()``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, ClassVar, Protocol, runtime_checkable

from ..errors import ConfigError, MeasurementError, RunTimeoutError
from .base import Measurement
from .board_port import PortLock, board_defaults, find_port
from .gvsoc import default_cluster_freq_hz
from .hardware import HardwareTarget
from .processes import kill_group, log_tail, new_log_path, start_logged
from .project_build import build_project, check_project
from .project_records import checked_output, expected_checksum
from .registry import TargetOptions
from .run_result import RunResult, is_transient
from .sdk_env import check_sdk, find_sdk, sdk_shell_command, sdk_versions
from .serial_link import LinkLostError, ReadTimeouts, SerialLink, read_run

BUILD_ARGS: tuple[str, ...] = ("clean", "all", "platform=board", "io=uart")
RUN_ARGS: tuple[str, ...] = ("run", "platform=board", "io=uart")


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


class BoardTarget(HardwareTarget):
    """Cycles measured on a GAP8 board, read from its UART.

    Args:
        port: serial port; ``None`` finds it by ``vid``/``pid`` (:func:`find_port`).
        baudrate: UART speed (8N1); default 115200.
        vid, pid: USB ids used to find the port; default FTDI 0x0403:0x6010 (GAPuino).
        trigger: how each attempt starts the firmware (see the module docstring).
        retries: extra attempts after a transient failure (board reset before each).
        begin_timeout_s: wait for the ``FMAS:BEGIN`` handshake.
        idle_timeout_s: longest silence after the handshake (must exceed the inference time).
        default_timeout_s: per-attempt limit when :meth:`run` gets ``timeout_s=None``.
        lock_timeout_s: how long to wait for another measurement to release the board.
        lock_dir: folder of the port lock files; default the system temp folder.
        reopen_timeout_s: how long to wait for the port to come back after a reset.
        retry_delay_s: pause between attempts.
        build_args, run_args: make arguments of the build and of the ``make-run`` trigger.
        build_timeout_s: limit of :meth:`prepare`.
        cluster_freq_hz: clock for the latency when the firmware does not state it.
        env: environment to find the SDK in and run make with; ``None`` uses ``os.environ``.
    """

    name: ClassVar[str] = "board"
    title: ClassVar[str] = "board"
    measures_hardware: ClassVar[bool] = True
    needs_exclusive_device: ClassVar[bool] = True

    @classmethod
    def from_options(cls, options: TargetOptions) -> BoardTarget:
        """The board on ``options.port`` (default: found by USB id)."""
        return cls(port=options.port)

    def __init__(
        self,
        port: str | None = None,
        baudrate: int | None = None,
        vid: int | None = None,
        pid: int | None = None,
        trigger: str | Sequence[str] | Callable[[SerialLink], object] | Trigger = "make-run",
        retries: int = 2,
        begin_timeout_s: float = 120.0,
        idle_timeout_s: float = 60.0,
        default_timeout_s: float = 600.0,
        lock_timeout_s: float = 1800.0,
        lock_dir: str | Path | None = None,
        reopen_timeout_s: float = 5.0,
        retry_delay_s: float = 1.0,
        build_args: Sequence[str] = BUILD_ARGS,
        run_args: Sequence[str] = RUN_ARGS,
        build_timeout_s: float = 1800.0,
        cluster_freq_hz: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if retries < 0:
            raise ConfigError(f"retries must be >= 0, got {retries}")
        self.port = port
        self.baudrate = baudrate or board_defaults()["uart_baud"]
        self.vid, self.pid = vid, pid
        self.trigger = trigger
        self.retries = retries
        self.begin_timeout_s = begin_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.default_timeout_s = default_timeout_s
        self.lock_timeout_s = lock_timeout_s
        self.lock_dir = lock_dir
        self.reopen_timeout_s = reopen_timeout_s
        self.retry_delay_s = retry_delay_s
        self.build_args = tuple(build_args)
        self.run_args = tuple(run_args)
        self.build_timeout_s = build_timeout_s
        self.cluster_freq_hz = cluster_freq_hz or default_cluster_freq_hz()
        self.env = env

    # ---- Target API -----------------------------------------------------------------------------

    def prepare(self, project_dir: str | Path) -> None:
        """Build the project for the board (``make clean all platform=board io=uart``).

        Raises:
            SdkMissingError: the SDK, toolchain or AutoTiler is missing.
            BuildError: no Makefile, or make failed (log path and last 20 lines in the message).
            RunTimeoutError: the build ran past ``build_timeout_s`` (process group killed).
        """
        build_project(
            project_dir, self.build_args, log_stem="board-build",
            timeout_s=self.build_timeout_s, env=self.env, what="board build",
        )

    def run(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """Run the built firmware on the board and read its cycles from the UART.

        Args:
            project_dir: the project :meth:`prepare` built (the UART log is kept in its ``logs/``).
            timeout_s: limit of one attempt (handshake to sentinel); ``None`` uses
                ``default_timeout_s``. Up to ``retries`` more attempts may follow.

        Returns:
            The measured cycles, ``source="board"``, with the UART log's path.

        Raises:
            SdkMissingError: the ``make-run`` trigger needs the SDK and it is missing.
            DeviceNotFoundError: no board port found, or it cannot be opened.
            BoardBusyError: another measurement holds the board past ``lock_timeout_s``.
            RunTimeoutError: no handshake / silence / no sentinel in time, on every attempt.
            LinkLostError: the port failed mid-run on every attempt.
            ProtocolError: the output is corrupt on every attempt, or reports zero cycles.
            FirmwareStatusError: the firmware reported a failure (not retried).
            TriggerFailedError: the start command failed on every attempt.
        """
        project = Path(project_dir).resolve()
        limit = self.default_timeout_s if timeout_s is None else timeout_s
        trigger = self._make_trigger(project)
        port = self.port or find_port(self.vid, self.pid)
        timeouts = ReadTimeouts(
            total_s=limit, begin_s=min(self.begin_timeout_s, limit),
            idle_s=min(self.idle_timeout_s, limit),
        )
        with PortLock(port, self.lock_timeout_s, self.lock_dir):
            log = new_log_path(project, "board")
            with open(log, "ab") as transcript:
                result = self._attempts(port, trigger, timeouts, transcript, log)
        return checked_output(result.to_measurement(
            "board", self.cluster_freq_hz, tool_versions=self._versions(), log_path=str(log),
            expected_checksum=expected_checksum(project),
        ))

    # ---- internals ------------------------------------------------------------------------------

    def _make_trigger(self, project: Path) -> Trigger:
        spec = self.trigger
        if isinstance(spec, Trigger):
            return spec
        if spec == "make-run":
            sdk = check_sdk(("sdk", "toolchain"), self.env)
            argv = sdk_shell_command(sdk.config_script or "", check_project(project), self.run_args)
            return CommandTrigger(argv, project, self.env)
        if spec == "reset":
            return ResetLinesTrigger()
        if spec == "none":
            return _NoTrigger()
        if callable(spec):
            return CallbackTrigger(spec)
        if isinstance(spec, Sequence) and not isinstance(spec, str):
            return CommandTrigger(list(spec), project, self.env)
        raise ConfigError(
            f"unknown board trigger {spec!r}: use 'make-run', 'reset', 'none', a command "
            "(list of arguments) or a callable"
        )

    def _attempts(
        self, port: str, trigger: Trigger, timeouts: ReadTimeouts, transcript: BinaryIO, log: Path
    ) -> RunResult:
        failures: list[MeasurementError] = []
        for attempt in range(1, self.retries + 2):
            transcript.write(f"\n=== fmas-hw: attempt {attempt} on {port} ===\n".encode())
            try:
                return self._attempt(port, trigger, timeouts, transcript)
            except MeasurementError as exc:
                if not (is_transient(exc) or isinstance(exc, RunTimeoutError)):
                    raise
                failures.append(exc)
                transcript.write(f"\n=== fmas-hw: attempt {attempt} failed: {exc} ===\n".encode())
            if attempt <= self.retries:
                time.sleep(self.retry_delay_s)
        last = failures[-1]
        raise type(last)(
            f"{last}\n(failed {len(failures)} attempt(s), board reset before each; UART log: {log})"
        ) from last

    def _attempt(
        self, port: str, trigger: Trigger, timeouts: ReadTimeouts, transcript: BinaryIO
    ) -> RunResult:
        link = SerialLink(port, self.baudrate)
        self._open(link)
        try:
            link.discard_input()
            trigger.start(link)
            return read_run(link, timeouts, transcript, check=trigger.check)
        finally:
            trigger.stop()
            link.close()

    def _open(self, link: SerialLink) -> None:
        """Open the port, waiting up to ``reopen_timeout_s`` for it to come back after a reset."""
        deadline = time.monotonic() + self.reopen_timeout_s
        while True:
            try:
                link.open()
                return
            except LinkLostError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _versions(self) -> dict[str, str]:
        sdk = find_sdk(self.env)
        return sdk_versions(sdk) if sdk.home is not None and sdk.home.is_dir() else {}
