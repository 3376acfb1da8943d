"""The ``board`` target: build with the GAP SDK, run on a GAP8 board, read cycles from its UART.

The runner's ``prepare`` builds with ``make clean all platform=board io=uart`` (as GVSoC's does,
:class:`~.hardware.HardwareRunner`). ``run`` locks the board's port (one measurement per board at
a time), opens the UART (115200 8N1, port given or found by USB VID:PID), starts the firmware
through a pluggable :class:`~.triggers.Trigger` and reads one fmas protocol run
(:func:`~fmas_hw.targets.serial_link.read_run`). Transient failures (silence, lost or corrupted
lines, the port vanishing) are retried a bounded number of times, the trigger resetting the board
before each attempt. Every UART byte is kept in ``<project>/logs/board-<timestamp>.log``.

Its settings (:class:`~.hardware_settings.BoardSettings`: USB ids, baud, trigger, retries,
timeouts) default to ``hw/gap8.toml`` ``[board]``; the triggers are described in :mod:`.triggers`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO, ClassVar

from ..errors import MeasurementError, RunTimeoutError
from ..gap8.candidate_file import OPEN_ROUTE
from ..toolchain.processes import new_log_path
from .board_port import PortLock, check_port, find_port
from .hardware import HardwareRunner, HardwareTarget
from .hardware_settings import BoardSettings
from .measurement import Measurement
from .options import TargetOptions
from .project_records import checked_output, expected_checksum
from .run_result import RunResult, is_transient
from .serial_link import LinkLostError, ReadTimeouts, SerialLink, read_run
from .triggers import Trigger, TriggerSpec, make_trigger


class BoardTarget(HardwareTarget):
    """Cycles measured on a GAP8 board, read from its UART.

    Args:
        settings: port, USB ids, baud, trigger, retries, timeouts, make arguments and clock;
            default :meth:`BoardSettings.from_hw() <.hardware_settings.HardwareSettings.from_hw>`.
        trigger: how each attempt starts the firmware, when it cannot be a setting (a callable
            ``f(link)`` or a :class:`~.triggers.Trigger`) or to override ``settings.trigger``;
            None uses ``settings.trigger``.
        env: environment to find the SDK in and run make with; ``None`` uses ``os.environ``.
        route: how the candidates' projects are generated.
    """

    name: ClassVar[str] = "board"
    title: ClassVar[str] = "board"
    summary: ClassVar[str] = "a GAP8 board over UART (needs the GAP SDK and a board)"
    measures_hardware: ClassVar[bool] = True
    needs_exclusive_device: ClassVar[bool] = True
    runner: BoardRunner

    @classmethod
    def from_options(cls, options: TargetOptions) -> BoardTarget:
        """The board on ``options.port`` (default: found by USB id)."""
        return cls(BoardSettings.from_hw(port=options.port), route=options.route)

    def __init__(self, settings: BoardSettings | None = None, *, trigger: TriggerSpec | None = None,
                 env: Mapping[str, str] | None = None, route: str = OPEN_ROUTE) -> None:
        super().__init__(BoardRunner(settings, trigger=trigger, env=env), route)

    def on_port(self, port: str | None) -> BoardTarget:
        """The same board settings on ``port`` (None: found by USB id)."""
        r = self.runner
        return BoardTarget(replace(r.settings, port=port), trigger=r.trigger, env=r.env, route=self.route)

    def check_ready(self) -> None:
        """The GAP SDK is installed and the board's port is there (the given one, else one found
        by USB id).

        Raises:
            SdkMissingError: a part of the SDK is missing.
            DeviceNotFoundError: no such port, or no (or more than one) board found; the message
                lists the ports seen.
        """
        super().check_ready()
        s = self.runner.settings
        if s.port:
            check_port(s.port)
        else:
            find_port(s.usb_vid, s.usb_pid, s.uart_interface)


class BoardRunner(HardwareRunner):
    """Builds a project, runs its firmware on the board and reads the cycles from the UART.

    Args: as :class:`BoardTarget`'s ``settings``, ``trigger`` and ``env``.
    """

    name: ClassVar[str] = "board"
    title: ClassVar[str] = "board"
    settings: BoardSettings

    def __init__(self, settings: BoardSettings | None = None, *, trigger: TriggerSpec | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        super().__init__(settings or BoardSettings.from_hw(), env)
        self.trigger: TriggerSpec = self.settings.trigger if trigger is None else trigger

    def run(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        """Run the built firmware on the board and read its cycles from the UART.

        Args:
            project_dir: the project :meth:`prepare` built (the UART log is kept in its ``logs/``).
            timeout_s: limit of one attempt (handshake to sentinel); ``None`` uses
                ``settings.default_timeout_s``. Up to ``settings.retries`` more attempts may follow.

        Returns:
            The measured cycles, ``source="board"``, with the UART log's path.

        Raises:
            SdkMissingError: the ``make-run`` trigger needs the SDK and it is missing.
            ConfigError: the trigger is none the module :mod:`.triggers` knows.
            DeviceNotFoundError: no board port found, or it cannot be opened.
            BoardBusyError: another measurement holds the board past ``lock_timeout_s``.
            RunTimeoutError: no handshake / silence / no sentinel in time, on every attempt.
            LinkLostError: the port failed mid-run on every attempt.
            ProtocolError: the output is corrupt on every attempt, or reports zero cycles.
            FirmwareStatusError: the firmware reported a failure (not retried).
            TriggerFailedError: the start command failed on every attempt.
        """
        s = self.settings
        project = Path(project_dir).resolve()
        limit = self.default_timeout_s if timeout_s is None else timeout_s
        trigger = make_trigger(self.trigger, project, s.run_args, self.env)
        port = s.port or find_port(s.usb_vid, s.usb_pid, s.uart_interface)
        timeouts = ReadTimeouts(
            total_s=limit, begin_s=min(s.begin_timeout_s, limit), idle_s=min(s.idle_timeout_s, limit),
        )
        with PortLock(port, s.lock_timeout_s, s.lock_dir):
            log = new_log_path(project, "board")
            with open(log, "ab") as transcript:
                result = self._attempts(port, trigger, timeouts, transcript, log)
        return checked_output(result.to_measurement(
            "board", s.cluster_freq_hz, tool_versions=self.tool_versions(), log_path=str(log),
            expected_checksum=expected_checksum(project),
        ))

    # ---- internals ------------------------------------------------------------------------------

    def _attempts(
        self, port: str, trigger: Trigger, timeouts: ReadTimeouts, transcript: BinaryIO, log: Path
    ) -> RunResult:
        failures: list[MeasurementError] = []
        for attempt in range(1, self.settings.retries + 2):
            transcript.write(f"\n=== fmas-hw: attempt {attempt} on {port} ===\n".encode())
            try:
                return self._attempt(port, trigger, timeouts, transcript)
            except MeasurementError as exc:
                if not (is_transient(exc) or isinstance(exc, RunTimeoutError)):
                    raise
                failures.append(exc)
                transcript.write(f"\n=== fmas-hw: attempt {attempt} failed: {exc} ===\n".encode())
            if attempt <= self.settings.retries:
                time.sleep(self.settings.retry_delay_s)
        last = failures[-1]
        raise type(last)(
            f"{last}\n(failed {len(failures)} attempt(s), board reset before each; UART log: {log})"
        ) from last

    def _attempt(
        self, port: str, trigger: Trigger, timeouts: ReadTimeouts, transcript: BinaryIO
    ) -> RunResult:
        link = SerialLink(port, self.settings.uart_baud)
        self._open(link)
        try:
            link.discard_input()
            trigger.start(link)
            return read_run(link, timeouts, transcript, check=trigger.check)
        finally:
            trigger.stop()
            link.close()

    def _open(self, link: SerialLink) -> None:
        """Open the port, waiting up to ``settings.reopen_timeout_s`` for it to return after a reset."""
        deadline = time.monotonic() + self.settings.reopen_timeout_s
        while True:
            try:
                link.open()
                return
            except LinkLostError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
