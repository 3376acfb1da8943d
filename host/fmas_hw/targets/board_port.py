"""Which serial port is the GAP8 board's UART, and who may use the board now.

* :func:`find_port` picks the board's UART among the serial ports by USB VID:PID (GAPuino: FTDI
  FT2232 0403:6010, whose second interface, usually ``/dev/ttyUSB1``, carries the UART; the first
  is JTAG). Errors list every port seen.
* :class:`PortLock` makes one measurement at a time use a board, across processes (``flock`` on
  ``<tmp>/fmas-hw-<port>.lock``, which the OS releases if the holder dies).

The USB ids, UART interface and baud come from ``hw/gap8.toml`` ``[board]`` (:func:`board_defaults`).
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import serial.tools.list_ports

from ..errors import ConfigError, DeviceNotFoundError, MeasurementError
from ..hw import load as load_hw

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


def check_port(port: str) -> None:
    """Check that the serial port ``port`` exists (a device the system lists, or a device file).
    A pyserial URL (``socket://host:port``, ``rfc2217://...``) is only known when opened: accepted.

    Raises:
        DeviceNotFoundError: it does not; the message lists the ports seen.
    """
    if "://" in port:
        return
    ports = list(serial.tools.list_ports.comports())
    if port in {p.device for p in ports} or Path(port).exists():
        return
    raise DeviceNotFoundError(
        f"serial port {port} does not exist; ports seen: {describe_ports(ports)}. Plug the board in, "
        "check the --port name, or leave it out to find the board by USB id")


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
