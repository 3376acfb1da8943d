"""Turning a board trigger setting into a trigger (the runs themselves: test_board.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmas_hw.errors import ConfigError
from fmas_hw.targets.triggers import CallbackTrigger, CommandTrigger, make_trigger


def test_each_kind_of_setting_makes_its_trigger(tmp_path: Path) -> None:
    command = make_trigger(("openocd", "-c", "reset"), tmp_path, ("run",))
    assert isinstance(command, CommandTrigger) and command.argv == ["openocd", "-c", "reset"]
    assert isinstance(make_trigger(lambda link: None, tmp_path, ("run",)), CallbackTrigger)
    assert isinstance(make_trigger("reset", tmp_path, ("run",)), CallbackTrigger)
    assert make_trigger(command, tmp_path, ("run",)) is command


def test_unknown_trigger_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown board trigger 'reboot': use 'make-run', 'reset'"):
        make_trigger("reboot", tmp_path, ("run",))
