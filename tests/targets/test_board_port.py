"""Finding the board's UART by USB id (errors list the ports seen) and locking the board."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
import serial.tools.list_ports

from fmas_hw.errors import ConfigError, DeviceNotFoundError
from fmas_hw.hw import load as load_hw
from fmas_hw.targets import board_port
from fmas_hw.targets.board_port import BoardBusyError, PortLock, check_port, find_port


def _port(device: str, vid: int | None, pid: int | None, location: str | None = None):
    return SimpleNamespace(device=device, vid=vid, pid=pid, location=location,
                           description="Dual RS232-HS" if vid else "n/a")


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ([_port("/dev/ttyS0", None, None), _port("/dev/ttyUSB0", 0x0403, 0x6010)], "/dev/ttyUSB0"),
        ([_port("/dev/ttyUSB0", 0x0403, 0x6010, "1-2:1.0"),
          _port("/dev/ttyUSB1", 0x0403, 0x6010, "1-2:1.1")], "/dev/ttyUSB1"),
        ([_port("/dev/ttyUSB1", 0x0403, 0x6010), _port("/dev/ttyUSB0", 0x0403, 0x6010)],
         "/dev/ttyUSB1"),
    ],
    ids=["single", "by-interface", "second-of-two"],
)
def test_find_port_by_vid_pid(monkeypatch, ports, expected) -> None:
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda *a, **k: ports)
    assert find_port() == expected


def test_find_port_lists_the_ports_it_saw(monkeypatch) -> None:
    ports = [_port("/dev/ttyS0", None, None), _port("/dev/ttyACM0", 0x2341, 0x0043)]
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda *a, **k: ports)
    with pytest.raises(DeviceNotFoundError, match=r"0403:6010.*/dev/ttyS0 \(no USB id\); /dev/ttyACM0 \(2341:0043"):
        find_port()


def test_two_boards_are_ambiguous(monkeypatch) -> None:
    ports = [_port(f"/dev/ttyUSB{i}", 0x0403, 0x6010, f"1-{i // 2}:1.{i % 2}") for i in range(4)]
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda *a, **k: ports)
    with pytest.raises(DeviceNotFoundError, match="several boards"):
        find_port()


# ---- one board, one measurement -----------------------------------------------------------------


def test_lock_contention_names_the_holder(board, tmp_path) -> None:
    with PortLock(board.port, lock_dir=tmp_path):
        with pytest.raises(BoardBusyError, match=rf"in use by another measurement \(pid {os.getpid()}"):
            PortLock(board.port, timeout_s=0.2, lock_dir=tmp_path).acquire()
    with PortLock(board.port, timeout_s=0.2, lock_dir=tmp_path):  # released: free again
        pass


def test_board_usb_ids_and_baud_come_from_the_hardware_file(monkeypatch):
    assert board_port.board_defaults() == {key: load_hw()["board"][key] for key in board_port.BOARD_KEYS}
    assert board_port.board_defaults()["uart_baud"] == 115_200
    monkeypatch.setattr(board_port, "load_hw", lambda: {"board": {"usb_vid": 1}})
    with pytest.raises(ConfigError, match="usb_pid, uart_interface, uart_baud"):
        board_port.board_defaults()


def test_check_port_accepts_a_listed_port_a_device_file_or_a_url(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda *a, **k: [_port("COM7", 0x0403, 0x6010)])
    device = tmp_path / "ttyFAKE1"
    device.touch()
    for port in ("COM7", str(device), "socket://localhost:7777"):
        check_port(port)
    with pytest.raises(DeviceNotFoundError, match=r"serial port /dev/ttyNOPE3 does not exist; ports seen: COM7"):
        check_port("/dev/ttyNOPE3")
