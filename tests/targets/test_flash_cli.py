"""``fmas-hw flash``: build then flash with the SDK sourced; errors shown without traceback."""

from __future__ import annotations

from pathlib import Path

import serial.tools.list_ports
from click.testing import CliRunner

from fmas_hw.cli.flash import flash
from fmas_hw.cli.main import main


def test_flash_builds_then_flashes(fake_sdk, project, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda *a, **k: [])
    result = CliRunner().invoke(flash, [str(project)])
    assert result.exit_code == 0, result.output
    assert "built (" in result.output and "flashed (" in result.output
    args = (tmp_path / "make-args.txt").read_text().splitlines()
    assert args == [str(project), "flash", "platform=board", "io=uart"]
    assert len(list((project / "logs").glob("board-build-*.log"))) == 1


def test_flash_without_sdk_says_what_is_missing(project: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("GAP_SDK_HOME", raising=False)
    assert main(["flash", "--no-build", str(project)]) != 0
    assert "GAP_SDK_HOME is not set" in capsys.readouterr().err
