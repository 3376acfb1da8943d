"""Settings of the gvsoc and board targets: defaults from hw/gap8.toml, checked values, overrides."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fmas_hw.errors import ConfigError
from fmas_hw.hw import load as load_hw
from fmas_hw.targets import hardware_settings
from fmas_hw.targets.board import BoardTarget
from fmas_hw.targets.gvsoc import GvsocTarget
from fmas_hw.targets.hardware_settings import BoardSettings, GvsocSettings


@pytest.mark.parametrize("cls", [GvsocSettings, BoardSettings], ids=["gvsoc", "board"])
def test_defaults_come_from_the_hardware_file(cls) -> None:
    settings = cls.from_hw()
    table = load_hw()[cls.TABLE]
    assert {key: getattr(settings, key) for key in table} == table
    assert (settings.build_args, settings.run_args) == (cls.BUILD_ARGS, cls.RUN_ARGS)
    assert settings.cluster_freq_hz == load_hw()["chip"]["cluster_freq_hz"] == 175_000_000


def test_the_defaults_of_the_former_constructors_are_kept() -> None:
    gvsoc, board = GvsocSettings.from_hw(), BoardSettings.from_hw()
    assert (gvsoc.build_timeout_s, gvsoc.default_timeout_s) == (1800.0, 900.0)
    assert gvsoc.build_args == ("clean", "all", "platform=gvsoc")
    assert (board.usb_vid, board.usb_pid, board.uart_interface, board.uart_baud) == (0x0403, 0x6010, 1, 115_200)
    assert (board.trigger, board.retries, board.port, board.lock_dir) == ("make-run", 2, None, None)
    assert (board.begin_timeout_s, board.idle_timeout_s, board.default_timeout_s) == (120.0, 60.0, 600.0)
    assert (board.lock_timeout_s, board.reopen_timeout_s, board.retry_delay_s) == (1800.0, 5.0, 1.0)
    assert board.run_args == ("run", "platform=board", "io=uart")


def test_overrides_are_applied_and_normalised(tmp_path: Path) -> None:
    settings = BoardSettings.from_hw(port="/dev/ttyUSB1", retries=0, lock_dir=tmp_path,
                                     trigger=["openocd", "-c", "reset"], begin_timeout_s=2)
    assert (settings.port, settings.retries, settings.lock_dir) == ("/dev/ttyUSB1", 0, str(tmp_path))
    assert settings.trigger == ("openocd", "-c", "reset") and settings.begin_timeout_s == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.retries = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("retries", -1, r"\[board\] retries must be an integer >= 0, got -1"),
        ("retries", 1.5, r"\[board\] retries must be an integer >= 0"),
        ("begin_timeout_s", 0, r"\[board\] begin_timeout_s must be a number of seconds > 0"),
        ("retry_delay_s", -0.1, r"\[board\] retry_delay_s must be a number of seconds >= 0"),
        ("usb_vid", 0x10000, r"\[board\] usb_vid must be a 16-bit USB id"),
        ("uart_baud", True, r"\[board\] uart_baud must be an integer > 0, got True"),
        ("trigger", "reboot", r"\[board\] trigger must be one of make-run, reset, none or a command"),
        ("trigger", [], r"\[board\] trigger must be a non-empty list of non-empty strings"),
        ("build_args", "all", r"\[board\] build_args must be a non-empty list"),
        ("port", "", r"\[board\] port must be a non-empty path"),
        ("cluster_freq_hz", 0, r"\[board\] cluster_freq_hz must be an integer > 0"),
    ],
    ids=lambda v: str(v)[:20],
)
def test_invalid_values_name_the_key(key, value, message) -> None:
    with pytest.raises(ConfigError, match=message):
        BoardSettings.from_hw(**{key: value})


def test_unknown_override_names_the_settings_there_are() -> None:
    with pytest.raises(ConfigError, match=r"unknown gvsoc setting\(s\) port: choose among build_args"):
        GvsocSettings.from_hw(port="/dev/ttyUSB1")


def test_an_edited_hardware_file_is_reported(monkeypatch) -> None:
    table = dict(load_hw()["board"])
    del table["retries"]
    monkeypatch.setattr(hardware_settings, "load_hw", lambda: {"chip": load_hw()["chip"], "board": table})
    with pytest.raises(ConfigError, match=r"hw/gap8.toml \[board\] lacks retries: restore"):
        BoardSettings.from_hw()
    table["retrys"] = 2
    with pytest.raises(ConfigError, match=r"hw/gap8.toml \[board\] has unknown key\(s\) retrys"):
        BoardSettings.from_hw()
    table["retries"] = -2
    del table["retrys"]
    with pytest.raises(ConfigError, match=r"\[board\] retries must be an integer >= 0, got -2"):
        BoardSettings.from_hw()


def test_targets_take_their_settings() -> None:
    gvsoc = GvsocTarget(GvsocSettings.from_hw(default_timeout_s=30))
    assert gvsoc.runner.default_timeout_s == 30.0 and GvsocTarget().settings == GvsocSettings.from_hw()
    board = BoardTarget(BoardSettings.from_hw(default_timeout_s=5, trigger="reset"))
    assert board.runner.default_timeout_s == 5.0 and board.runner.trigger == "reset"
    callback = print
    assert BoardTarget(trigger=callback).runner.trigger is callback  # what TOML cannot hold
    on_usb1 = BoardTarget(trigger=callback).on_port("/dev/ttyUSB1")
    assert on_usb1.settings.port == "/dev/ttyUSB1" and on_usb1.runner.trigger is callback
