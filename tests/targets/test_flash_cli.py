"""``fmas-hw flash``: build then flash with the SDK sourced; errors shown without traceback."""

from __future__ import annotations

from pathlib import Path

import serial.tools.list_ports
from click.testing import CliRunner

from fmas_hw.cli import flash as flash_module
from fmas_hw.cli.flash import flash
from fmas_hw.cli.main import main
from fmas_hw.targets.project_build import build_project


def test_flash_builds_then_flashes(fake_sdk, project, tmp_path, monkeypatch) -> None:
    """Both steps make the flashed build: the test input goes to flash, not read over semihosting."""
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda *a, **k: [])
    steps: list[tuple[str, ...]] = []

    def recorded(project_dir, make_args, **kwargs):
        steps.append(tuple(make_args))
        return build_project(project_dir, make_args, **kwargs)

    monkeypatch.setattr(flash_module, "build_project", recorded)
    result = CliRunner().invoke(flash, [str(project)])
    assert result.exit_code == 0, result.output
    assert "built (" in result.output and "flashed (" in result.output
    assert steps[0] == ("clean", "all", "platform=board", "io=uart", "FMAS_INPUT=flash")
    args = (tmp_path / "make-args.txt").read_text().splitlines()
    assert args == [str(project), "flash", "platform=board", "io=uart", "FMAS_INPUT=flash"]
    assert len(list((project / "logs").glob("board-build-*.log"))) == 1


def test_flash_keeps_the_flashed_input_with_other_flash_args(fake_sdk, project, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda *a, **k: [])
    result = CliRunner().invoke(flash, [str(project), "--no-build", "--flash-args", "flash platform=board"])
    assert result.exit_code == 0, result.output
    args = (tmp_path / "make-args.txt").read_text().splitlines()
    assert args == [str(project), "flash", "platform=board", "FMAS_INPUT=flash"]


def test_flash_without_sdk_says_what_is_missing(project: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("GAP_SDK_HOME", raising=False)
    assert main(["flash", "--no-build", str(project)]) != 0
    assert "GAP_SDK_HOME is not set" in capsys.readouterr().err
