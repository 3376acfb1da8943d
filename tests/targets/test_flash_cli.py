"""``fmas-hw flash``: build then flash with the SDK sourced; errors shown without traceback."""

from __future__ import annotations

import json
from pathlib import Path

import serial.tools.list_ports
from click.testing import CliRunner
from fmas_targets_testkit import LAYERS, render_run

from fmas_hw.cli import flash as flash_module
from fmas_hw.cli.flash import flash
from fmas_hw.cli.main import main
from fmas_hw.toolchain.project_build import build_project

TOTAL = sum(cycles for _, cycles, _ in LAYERS)
RUN = "".join(render_run(LAYERS)).encode()


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


def _flashed_project(project: Path, expected: int) -> Path:
    (project / "model").mkdir()
    (project / "model" / "expected.json").write_text(json.dumps({"output_checksum": expected}))
    return project


def test_flash_check_reads_the_flashed_run_and_its_checksum(fake_sdk, board, project, tmp_path) -> None:
    """--check none: the user power-cycles the board; one run is read from the UART, no JTAG load."""
    _flashed_project(project, 0x5A17C0DE)
    board.play([0.5, b"\x00boot\r\n", RUN])
    result = CliRunner().invoke(flash, [str(project), "--no-build", "--port", board.port, "--check", "none"])
    assert result.exit_code == 0, result.output
    assert "power-cycle" in result.output
    assert f"flashed board ran: {TOTAL} cycles" in result.output
    assert "output checksum matches model/expected.json" in result.output
    # the last make was the flash: reading the board started nothing over JTAG
    assert (tmp_path / "make-args.txt").read_text().splitlines()[1] == "flash"
    assert len(list((project / "logs").glob("board-2*.log"))) == 1  # the UART transcript


def test_flash_check_fails_on_another_checksum(fake_sdk, board, project, capsys) -> None:
    _flashed_project(project, 0x0BADF00D)
    board.play([0.5, RUN])
    code = main(["flash", str(project), "--no-build", "--port", board.port, "--check", "none"])
    err = capsys.readouterr().err
    assert code != 0 and "error:" in err and "Traceback" not in err
    assert "checksum 0x5a17c0de, expected 0x0badf00d (model/expected.json)" in err


def test_flash_check_rejects_a_jtag_start(project: Path) -> None:
    result = CliRunner().invoke(flash, [str(project), "--check", "make-run"])
    assert result.exit_code == 2 and "Invalid value for '--check'" in result.output
