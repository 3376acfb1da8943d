"""``fmas-hw flash``: build a generated GAP8 project and write it to the board's flash.

A thin command over :mod:`fmas_hw.toolchain.project_build`: ``make clean all platform=board io=uart
FMAS_INPUT=flash`` (skipped with ``--no-build``), then ``make flash platform=board io=uart
FMAS_INPUT=flash``, both with the SDK sourced, logs kept under ``<project>/logs/``. A flashed
board runs at power-up with no debugger to serve semihosting, so ``FMAS_INPUT=flash``
(:attr:`~fmas_hw.targets.hardware_settings.BoardSettings.FLASHED_ARGS`) makes the project pack
its test input into the flash with the constants and read it from there; the output checksum it
prints is still that of ``model/expected.json``. While it flashes, the board's port lock is held,
so a measurement on the same board waits instead of colliding with it.

``--check reset|none`` then reads one run of the flashed firmware from the UART, as the board
runner does (:meth:`~fmas_hw.targets.board.BoardRunner.run`, no build, no JTAG load): started by
a DTR/RTS reset or by the user power-cycling the board, it must end with the expected checksum.
"""

from __future__ import annotations

import contextlib
import shlex
from pathlib import Path

import click

from ..errors import DeviceNotFoundError, MeasurementError
from ..targets.board import BoardRunner
from ..targets.board_port import PortLock, find_port
from ..targets.hardware import project_sdk_parts
from ..targets.hardware_settings import BoardSettings
from ..targets.measurement import Measurement
from ..toolchain.project_build import build_project

FLASH_ARGS: tuple[str, ...] = ("flash", "platform=board", "io=uart")
#: How ``--check`` starts the flashed firmware: board-target triggers that load nothing over JTAG.
CHECK_STARTS = ("reset", "none")


def _board_lock(port: str | None, timeout_s: float) -> contextlib.AbstractContextManager:
    """The board's port lock; no lock when no port is given and none is found (JTAG-only setups)."""
    if port is None:
        try:
            port = find_port()
        except DeviceNotFoundError:
            return contextlib.nullcontext()
    return PortLock(port, timeout_s=timeout_s)


@click.command()
@click.argument("project", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-build", is_flag=True,
              help="Flash what is already built (it must have been built with FMAS_INPUT=flash).")
@click.option("--port", default=None, envvar="FMAS_BOARD_PORT",
              help="Board UART, only used to lock the board (default: found by USB id).")
@click.option("--flash-args", default=" ".join(FLASH_ARGS), show_default=True,
              help="make arguments that write the flash (FMAS_INPUT=flash is always added).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=1800.0,
              show_default=True, help="Limit of each make step, in seconds.")
@click.option("--check", "check_start", type=click.Choice(CHECK_STARTS), default=None,
              help="Then read one run of the flashed firmware from the UART and compare its output "
                   "checksum with model/expected.json; start it by a DTR/RTS reset, or (none) "
                   "power-cycle the board yourself.")
def flash(project: Path, no_build: bool, port: str | None, flash_args: str, timeout_s: float,
          check_start: str | None) -> None:
    """Build PROJECT for the board and write it to the board's flash, test input included."""
    flashed = BoardSettings.FLASHED_ARGS
    parts = project_sdk_parts(project)
    with _board_lock(port, timeout_s):
        if not no_build:
            log = build_project(project, (*BoardSettings.BUILD_ARGS, *flashed), log_stem="board-build",
                                timeout_s=timeout_s, what="board build", require=parts)
            click.echo(f"built ({log})")
        log = build_project(project, (*shlex.split(flash_args), *flashed), log_stem="board-flash",
                            timeout_s=timeout_s, what="flashing", require=parts)
    click.echo(f"flashed ({log})")
    if check_start is not None:
        if check_start == "none":
            click.echo("power-cycle (or reset) the board now: waiting for its output on the UART")
        click.echo(_check_verdict(check_flashed(project, port, check_start)))


def check_flashed(project: Path, port: str | None, start: str) -> Measurement:
    """One run of the flashed firmware read from the UART (the board runner's run, no build).

    Raises:
        MeasurementError: the run failed (the board runner's errors), or its output checksum is
            not ``model/expected.json``'s.
    """
    measurement = BoardRunner(BoardSettings.from_hw(port=port, trigger=start)).run(project)
    if measurement.output_ok is False:
        raise MeasurementError(
            f"the flashed board printed output checksum {measurement.checksum:#010x}, expected "
            f"{measurement.expected_checksum:#010x} (model/expected.json): it did not compute the "
            f"exported network on its test input; see {measurement.log_path}")
    return measurement


def _check_verdict(m: Measurement) -> str:
    if m.output_ok:
        compared = "matches model/expected.json"
    elif m.checksum is None:
        compared = "not printed by the firmware: nothing compared"
    else:
        compared = "not compared: the project expects none (nntool route, or exported before model/expected.json)"
    return (f"flashed board ran: {m.total_cycles} cycles ({m.latency_ms:.1f} ms), output checksum "
            f"{compared} ({m.log_path})")
