"""The host end of a GAP8 board's UART: the serial link and reading one run from it.

* :class:`SerialLink` wraps pyserial (115200 8N1 by default) and turns I/O failures into
  :class:`LinkLostError`.
* :func:`read_run` waits for the ``FMAS:BEGIN`` handshake and reads up to the ``FMAS:END`` sentinel,
  with a handshake timeout, an idle (per-read) timeout and a total timeout, tolerating noise,
  undecodable bytes and lines split across reads.

Finding the board's port and locking it is :mod:`.board_port`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import serial

from ..errors import DeviceNotFoundError, RunTimeoutError
from .board_port import board_defaults, describe_ports
from .protocol import FmasStreamParser
from .run_result import RunResult


class LinkLostError(DeviceNotFoundError):
    """The serial port vanished or failed mid-run (board unplugged or reset): retrying may help."""

    transient = True


# ---- the serial link ----------------------------------------------------------------------------


class SerialLink:
    """A pyserial port, opened on demand, with typed errors.

    Args:
        port: device name or pyserial URL (``/dev/ttyUSB1``, ``loop://``...).
        baudrate: default 115200 (the SDK's UART default); 8N1 unless told otherwise.
        poll_s: timeout of one read, so callers can check their own deadlines in between.
    """

    def __init__(
        self, port: str, baudrate: int | None = None, bytesize: int = 8, parity: str = "N",
        stopbits: float = 1, poll_s: float = 0.05,
    ) -> None:
        self.port = port
        self.baudrate = baudrate or board_defaults()["uart_baud"]
        self.settings = {"bytesize": bytesize, "parity": parity, "stopbits": stopbits}
        self.poll_s = poll_s
        self._serial: serial.SerialBase | None = None

    def open(self) -> None:
        """Open the port.

        Raises:
            DeviceNotFoundError: the port cannot be opened (message lists the ports seen).
        """
        try:
            self._serial = serial.serial_for_url(
                self.port, baudrate=self.baudrate, timeout=self.poll_s, **self.settings
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkLostError(
                f"cannot open serial port {self.port}: {exc}. Ports seen: {describe_ports()}"
            ) from exc

    @property
    def is_open(self) -> bool:
        """True while the port is open."""
        return self._serial is not None and self._serial.is_open

    def read(self, size: int = 4096) -> bytes:
        """Bytes available now (waits at most ``poll_s``; ``b""`` when none came).

        Raises:
            LinkLostError: the port failed or vanished (board unplugged, reset, re-enumerated).
        """
        if self._serial is None:
            raise LinkLostError(f"serial port {self.port} is not open")
        try:
            waiting = self._serial.in_waiting
            return self._serial.read(max(1, min(size, waiting)) if waiting else 1)
        except (serial.SerialException, OSError) as exc:
            raise LinkLostError(f"serial port {self.port} failed mid-run: {exc}") from exc

    def discard_input(self) -> None:
        """Drop bytes received before the run (stale output of an earlier run)."""
        if self._serial is not None:
            try:
                self._serial.reset_input_buffer()
            except (serial.SerialException, OSError) as exc:
                raise LinkLostError(f"serial port {self.port} failed: {exc}") from exc

    def pulse_reset(self, pulse_s: float = 0.1) -> None:
        """Assert DTR and RTS for ``pulse_s`` then release them (board reset wired to them).

        Raises:
            LinkLostError: the port does not support modem lines.
        """
        if self._serial is None:
            raise LinkLostError(f"serial port {self.port} is not open")
        try:
            self._serial.dtr = self._serial.rts = True
            time.sleep(pulse_s)
            self._serial.dtr = self._serial.rts = False
        except (serial.SerialException, OSError) as exc:
            raise LinkLostError(f"cannot toggle DTR/RTS on {self.port}: {exc}") from exc

    def close(self) -> None:
        """Close the port (idempotent, never raises)."""
        if self._serial is not None:
            try:
                self._serial.close()
            except (serial.SerialException, OSError):
                pass
            self._serial = None

    def __enter__(self) -> SerialLink:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- reading one run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadTimeouts:
    """Limits of :func:`read_run`, in seconds.

    Attributes:
        total_s: the whole read, handshake included.
        begin_s: wait for ``FMAS:BEGIN`` (loading over JTAG and booting take a while).
        idle_s: longest silence after the handshake; must exceed the inference time, because the
            firmware is silent while the network runs (about 12 s for the 2189 M-cycle supernet).
    """

    total_s: float = 600.0
    begin_s: float = 120.0
    idle_s: float = 60.0


def read_run(
    link: SerialLink,
    timeouts: ReadTimeouts | None = None,
    transcript: BinaryIO | None = None,
    check: Callable[[], None] | None = None,
) -> RunResult:
    """Read one run from an open link: handshake, lines, sentinel.

    Args:
        link: an open :class:`SerialLink`.
        timeouts: handshake, idle and total limits; ``None`` uses :class:`ReadTimeouts` defaults.
        transcript: a binary file receiving every byte read (the kept UART log).
        check: called between reads; may raise to abort (e.g. the trigger process failed).

    Returns:
        The validated run (see :meth:`FmasStreamParser.result`).

    Raises:
        RunTimeoutError: no handshake within ``begin_s``, silence longer than ``idle_s`` after it,
            or no sentinel within ``total_s``.
        LinkLostError: the port failed mid-run.
        ProtocolError, FirmwareStatusError: from the parser (corrupt lines, lost lines, all-zero
            cycles, firmware status).
    """
    timeouts = timeouts or ReadTimeouts()
    parser = FmasStreamParser()
    recent: deque[str] = deque(maxlen=5)
    start = last_data = time.monotonic()
    received = 0
    while not parser.ended:
        chunk = link.read()
        now = time.monotonic()
        if chunk:
            received += len(chunk)
            last_data = now
            if transcript is not None:
                transcript.write(chunk)
                transcript.flush()
            recent.extend(line for line in parser.feed(chunk) if line.strip())
        if check is not None:
            check()
        _check_deadlines(parser.begun, now - start, now - last_data, timeouts, link.port,
                         received, recent)
    return parser.result()


def _check_deadlines(
    begun: bool, elapsed: float, idle: float, timeouts: ReadTimeouts, port: str, received: int,
    recent: deque[str],
) -> None:
    seen = f"{received} byte(s) received; last lines: {list(recent) or 'none'}"
    if not begun and elapsed > timeouts.begin_s:
        raise RunTimeoutError(
            f"no FMAS:BEGIN on {port} within {timeouts.begin_s:g} s ({seen}). Check that the "
            "firmware was built with io=uart and started, and the port and baud rate"
        )
    if begun and idle > timeouts.idle_s:
        raise RunTimeoutError(
            f"{port} went silent for {timeouts.idle_s:g} s before FMAS:END ({seen}): the "
            "firmware hung or crashed; raise the idle timeout if the network runs longer"
        )
    if elapsed > timeouts.total_s:
        raise RunTimeoutError(
            f"no FMAS:END on {port} within {timeouts.total_s:g} s ({seen})"
        )
