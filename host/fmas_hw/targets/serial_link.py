"""The host end of a GAP8 board's UART: port discovery, exclusive locking, reading one run.

* :func:`find_port` picks the board's UART among the serial ports by USB VID:PID (GAPuino: FTDI
  FT2232 0403:6010, whose second interface, usually ``/dev/ttyUSB1``, carries the UART; the first
  is JTAG). Errors list every port seen.
* :class:`PortLock` makes one measurement at a time use a board, across processes (``flock`` on
  ``<tmp>/fmas-hw-<port>.lock``, which the OS releases if the holder dies).
* :class:`SerialLink` wraps pyserial (115200 8N1 by default) and turns I/O failures into
  :class:`LinkLostError`.
* :func:`read_run` waits for the ``FMAS:BEGIN`` handshake and reads up to the ``FMAS:END`` sentinel,
  with a handshake timeout, an idle (per-read) timeout and a total timeout, tolerating noise,
  undecodable bytes and lines split across reads.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import serial
import serial.tools.list_ports

from ..errors import ConfigError, DeviceNotFoundError, MeasurementError, RunTimeoutError
from ..hw import load as load_hw
from .protocol import FmasStreamParser
from .run_result import RunResult

BOARD_KEYS = ("usb_vid", "usb_pid", "uart_interface", "uart_baud")


def board_defaults() -> dict[str, int]:
    """USB ids, UART interface and baud of the board, from ``hw/gap8.toml`` ``[board]``.

    Raises:
        ConfigError: the table or one of its keys is missing (the file names its sources).
    """
    table = load_hw().get("board", {})
    missing = [key for key in BOARD_KEYS if key not in table]
    if missing:
        raise ConfigError(f"hw/gap8.toml [board] lacks {', '.join(missing)}: restore the packaged file")
    return {key: int(table[key]) for key in BOARD_KEYS}


class LinkLostError(DeviceNotFoundError):
    """The serial port vanished or failed mid-run (board unplugged or reset): retrying may help."""

    transient = True


class BoardBusyError(MeasurementError):
    """Another measurement holds the board's port lock."""

    transient = False


# ---- port discovery -----------------------------------------------------------------------------


def _describe(port: Any) -> str:
    ids = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None else "no USB id"
    extra = ", ".join(str(x) for x in (port.description, port.location) if x and x != "n/a")
    return f"{port.device} ({ids}{', ' + extra if extra else ''})"


def describe_ports(ports: Iterable[Any] | None = None) -> str:
    """One line listing the serial ports (default: those present now), for error messages."""
    ports = list(serial.tools.list_ports.comports() if ports is None else ports)
    return "; ".join(_describe(p) for p in ports) if ports else "none"


def _pick_interface(candidates: list[Any], interface: int) -> list[Any]:
    """Narrow FT2232-style multi-interface candidates to the UART interface."""
    by_location = [p for p in candidates if str(p.location or "").endswith(f".{interface}")]
    if by_location:
        return by_location
    # Without location info, the interfaces of one chip enumerate in order (ttyUSB0, ttyUSB1).
    ordered = sorted(candidates, key=lambda p: p.device)
    if len(ordered) == 2:
        return [ordered[min(interface, 1)]]
    return ordered


def find_port(vid: int | None = None, pid: int | None = None, interface: int | None = None) -> str:
    """The device name of the board's UART, found by USB VID:PID.

    Args:
        vid: USB vendor id; default from :func:`board_defaults` (FTDI 0x0403).
        pid: USB product id; default 0x6010 (FT2232, GAPuino).
        interface: USB interface carrying the UART on a multi-interface chip (GAPuino: 1).

    Returns:
        e.g. ``"/dev/ttyUSB1"``.

    Raises:
        DeviceNotFoundError: no port, or several boards, match; the message lists the ports seen.
    """
    defaults = board_defaults()
    vid = defaults["usb_vid"] if vid is None else vid
    pid = defaults["usb_pid"] if pid is None else pid
    interface = defaults["uart_interface"] if interface is None else interface
    ports = list(serial.tools.list_ports.comports())
    candidates = [p for p in ports if p.vid == vid and p.pid == pid]
    if not candidates:
        raise DeviceNotFoundError(
            f"no serial port with USB id {vid:04x}:{pid:04x} (GAP8 board) found; ports seen: "
            f"{describe_ports(ports)}. Plug the board in, check permissions (dialout group, "
            "openocd udev rules) or give the port explicitly (--port)"
        )
    chosen = candidates if len(candidates) == 1 else _pick_interface(candidates, interface)
    if len(chosen) != 1:
        raise DeviceNotFoundError(
            f"several boards match USB id {vid:04x}:{pid:04x}: {describe_ports(chosen)}; "
            "give the port explicitly (--port)"
        )
    return chosen[0].device


# ---- one board, one measurement -----------------------------------------------------------------


class PortLock:
    """Exclusive, inter-process lock on a serial port (context manager).

    The lock is an ``flock`` on ``<lock_dir>/fmas-hw-<port>.lock``; the holder writes its pid there
    so that a waiting measurement can say who holds the board. The OS drops the lock if the holder
    dies, so a crash never leaves the board locked.

    Args:
        port: the serial port (symlinks are resolved, so two names of one device share a lock).
        timeout_s: how long :meth:`acquire` waits for the holder to finish.
        lock_dir: folder of the lock files; default the system temp folder.
        poll_s: how often a waiting acquire retries.
    """

    def __init__(
        self, port: str, timeout_s: float = 600.0, lock_dir: str | Path | None = None,
        poll_s: float = 0.1,
    ) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        device = os.path.realpath(port) if os.path.isabs(port) else port
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", device.strip("/"))
        self.path = Path(lock_dir or tempfile.gettempdir()) / f"fmas-hw-{name}.lock"
        self._fd: int | None = None

    def holder_pid(self) -> int | None:
        """The pid written by the current (or last) holder, if readable."""
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout_s``.

        Raises:
            BoardBusyError: still held after ``timeout_s``; the message names the holder's pid.
        """
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise BoardBusyError(
                f"cannot open the lock file of {self.port} ({self.path}): {exc}; another user may "
                "own it: choose another lock folder (lock_dir)"
            ) from exc
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise BoardBusyError(
                        f"the board on {self.port} is in use by another measurement (pid "
                        f"{self.holder_pid() or 'unknown'}, lock {self.path}); waited "
                        f"{self.timeout_s:g} s. Wait for it to finish or raise the lock timeout"
                    ) from None
                time.sleep(self.poll_s)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> PortLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


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
