"""The board target over a real pseudo-terminal: handshake, noise, timeouts, retries, locking."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from fmas_targets_testkit import LAYERS, FakeBoard, render_run
from test_gvsoc import live_project

from fmas_hw.errors import RunTimeoutError, SdkMissingError
from fmas_hw.targets.board import BoardRunner
from fmas_hw.targets.board_port import BoardBusyError
from fmas_hw.targets.hardware_settings import BoardSettings
from fmas_hw.targets.run_result import TimerNotStartedError
from fmas_hw.targets.serial_link import LinkLostError
from fmas_hw.targets.triggers import CommandTrigger, TriggerFailedError

TOTAL = sum(c for _, c, _ in LAYERS)
RUN = "".join(render_run(LAYERS)).encode()


def _runner(board: FakeBoard, trigger, tmp_path: Path, **options) -> BoardRunner:
    values = dict(port=board.port, retries=0, lock_dir=tmp_path,
                  retry_delay_s=0.0, reopen_timeout_s=0.3, begin_timeout_s=2.0, idle_timeout_s=2.0)
    values.update(options)
    return BoardRunner(BoardSettings.from_hw(**values), trigger=trigger)


@pytest.mark.parametrize(("expected", "ok"), [(0x5A17C0DE, True), (0x0BADF00D, False)], ids=["same", "different"])
def test_board_checksum_is_compared_with_the_expected_one(board, counting_trigger, project, tmp_path,
                                                          expected, ok) -> None:
    (project / "model").mkdir()
    (project / "model" / "expected.json").write_text(json.dumps({"output_checksum": expected}))
    trigger, _ = counting_trigger(board, [[RUN]])
    m = _runner(board, trigger, tmp_path).run(project, timeout_s=5)
    assert (m.checksum, m.expected_checksum, m.output_ok) == (0x5A17C0DE, expected, ok)


def test_normal_run(board, counting_trigger, project, tmp_path) -> None:
    trigger, calls = counting_trigger(board, [[b"\x00boot\r\n", RUN]])
    m = _runner(board, trigger, tmp_path).run(project, timeout_s=5)
    assert (m.source, m.estimated, m.label) == ("board", False, "measured (board)")
    assert m.total_cycles == TOTAL and [lc.name for lc in m.per_layer] == [n for n, _, _ in LAYERS]
    assert m.checksum == 0x5A17C0DE and m.cluster_freq_hz == 175_000_000
    assert calls == [1]
    log = Path(m.log_path)
    assert log.parent == project / "logs" and RUN in log.read_bytes()  # raw UART transcript


def test_garbage_and_non_utf8_among_lines(board, counting_trigger, project, tmp_path) -> None:
    lines = render_run(LAYERS)
    noisy = [b"\xff\xfe\x00\x80 junk \xc3\x28\r\n", b"\x93\x11" + lines[0].encode()]
    for line in lines[1:]:
        noisy += [b"\xa7 pmsis: cluster on \xff\r\n", line.replace("\n", "\r\n").encode()]
    trigger, _ = counting_trigger(board, [noisy])
    assert _runner(board, trigger, tmp_path).run(project, timeout_s=5).total_cycles == TOTAL


def test_line_split_across_writes(board, counting_trigger, project, tmp_path) -> None:
    cut = RUN.index(b"cycles=", RUN.index(b"FMAS:LAYER idx=1")) + 9
    trigger, _ = counting_trigger(board, [[RUN[:cut], 0.3, RUN[cut:]]])
    m = _runner(board, trigger, tmp_path).run(project, timeout_s=5)
    assert m.per_layer[1].cycles == LAYERS[1][1]


def test_silence_times_out_waiting_for_handshake(board, counting_trigger, project, tmp_path):
    trigger, calls = counting_trigger(board, [[b"bootloader v1\n"]])
    runner = _runner(board, trigger, tmp_path, begin_timeout_s=0.4, retries=1)
    with pytest.raises(RunTimeoutError, match=r"(?s)no FMAS:BEGIN .*bootloader v1.*failed 2 attempt"):
        runner.run(project, timeout_s=5)
    assert calls == [1, 2]  # one reset per attempt


def test_disconnect_mid_run_then_retry_succeeds(board, counting_trigger, project, tmp_path):
    head = RUN[: RUN.index(b"FMAS:LAYER idx=1")]
    trigger, calls = counting_trigger(board, [[head, 0.05, "reenumerate"], [RUN]])
    runner = _runner(board, trigger, tmp_path, retries=2, reopen_timeout_s=2.0)
    assert runner.run(project, timeout_s=5).total_cycles == TOTAL
    assert calls == [1, 2]
    transcript = Path(next((project / "logs").glob("board-*.log"))).read_text(errors="replace")
    assert "attempt 1 failed" in transcript and "attempt 2 on" in transcript


def test_disconnect_for_good_fails_after_bounded_retries(board, counting_trigger, project, tmp_path):
    trigger, calls = counting_trigger(board, [[RUN[:30], 0.05, "disconnect"]])
    runner = _runner(board, trigger, tmp_path, retries=1, reopen_timeout_s=0.2)
    with pytest.raises(LinkLostError, match=r"(?s)cannot open serial port.*failed 2 attempt"):
        runner.run(project, timeout_s=5)
    assert calls == [1]  # the port never came back, so there was nothing to reset


def test_corrupted_run_is_retried(board, counting_trigger, project, tmp_path) -> None:
    corrupt = RUN.replace(b"FMAS:TOTAL cycles=", b"FMAS:TOTAL cycles=9")
    trigger, calls = counting_trigger(board, [[corrupt], [RUN]])
    assert _runner(board, trigger, tmp_path, retries=1).run(project).total_cycles == TOTAL
    assert calls == [1, 2]


def test_firmware_errors_are_not_retried(board, counting_trigger, project, tmp_path) -> None:
    zero = "".join(render_run([(n, 0, o) for n, _, o in LAYERS])).encode()
    trigger, calls = counting_trigger(board, [[zero]])
    with pytest.raises(TimerNotStartedError):
        _runner(board, trigger, tmp_path, retries=3).run(project)
    assert calls == [1]


def test_failing_start_command_is_reported(board, project, tmp_path) -> None:
    cmd = ["sh", "-c", "echo 'Error: unable to open ftdi device'; exit 1"]
    runner = _runner(board, cmd, tmp_path, retries=1)
    with pytest.raises(TriggerFailedError, match=r"(?s)exited with status 1.*unable to open ftdi"):
        runner.run(project)
    assert len(list((project / "logs").glob("board-run-*.log"))) == 2


class _PlayingCommand(CommandTrigger):
    """A start command after which the fake board prints a run (as `make run` makes a board do)."""

    def __init__(self, board: FakeBoard, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.board = board

    def start(self, link) -> None:
        super().start(link)
        self.board.play([RUN])


def test_command_trigger_is_stopped_after_the_run(board, project, tmp_path) -> None:
    trigger = _PlayingCommand(board, ["sleep", "30"], project, grace_s=0.1)
    assert _runner(board, trigger, tmp_path).run(project).total_cycles == TOTAL
    assert trigger._proc is None  # waited, then killed


def test_make_run_trigger_needs_the_sdk(board, project, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GAP_SDK_HOME", raising=False)
    with pytest.raises(SdkMissingError, match="GAP_SDK_HOME"):
        _runner(board, "make-run", tmp_path).run(project)


# ---- one board, one measurement -----------------------------------------------------------------


def test_second_measurement_waits_for_the_first(board, project, tmp_path) -> None:
    started = threading.Event()
    slow = [RUN[:60], 0.6, RUN[60:]]

    def first_trigger(link) -> None:
        board.play(slow)
        started.set()

    results: list[int] = []
    first = threading.Thread(
        target=lambda: results.append(_runner(board, first_trigger, tmp_path).run(project).total_cycles)
    )
    first.start()
    assert started.wait(5)
    impatient = _runner(board, lambda link: board.play([RUN]), tmp_path, lock_timeout_s=0.1)
    with pytest.raises(BoardBusyError, match="pid"):
        impatient.run(project)
    patient = _runner(board, lambda link: board.play([RUN]), tmp_path, lock_timeout_s=5)
    t0 = time.monotonic()
    assert patient.run(project).total_cycles == TOTAL
    first.join(5)
    assert results == [TOTAL] and time.monotonic() - t0 > 0.2


@pytest.mark.board
@pytest.mark.skipif(not os.environ.get("FMAS_BOARD_PORT"), reason="needs a GAP8 board: FMAS_BOARD_PORT unset")
def test_live_board(tiny_mnv2_supernet, tmp_path) -> None:
    """A small project of its own on the board: cycles, and the output of the host int8 reference."""
    project = live_project(tiny_mnv2_supernet, tmp_path)
    m = BoardRunner(BoardSettings.from_hw(port=os.environ["FMAS_BOARD_PORT"])).measure(project)
    assert m.total_cycles > 0 and m.source == "board"
    assert m.expected_checksum is not None and m.checksum == m.expected_checksum, (
        f"board output checksum {m.checksum} != expected {m.expected_checksum} (host int8 reference)")


def test_make_commands_of_the_board(fake_sdk, board, project, tmp_path, monkeypatch) -> None:
    runner = _runner(board, "make-run", tmp_path)
    runner.prepare(project)
    args_file = tmp_path / "make-args.txt"
    assert args_file.read_text().splitlines() == [str(project), "clean", "all", "platform=board", "io=uart"]
    start = CommandTrigger.start

    def start_and_play(self, link) -> None:
        start(self, link)
        board.play([RUN])

    monkeypatch.setattr(CommandTrigger, "start", start_and_play)
    m = runner.run(project, timeout_s=5)
    run_logs = list((project / "logs").glob("board-run-*.log"))
    assert len(run_logs) == 1
    assert args_file.read_text().splitlines() == [str(project), "run", "platform=board", "io=uart"]
    assert m.total_cycles == TOTAL and m.tool_versions["autotiler"] == "4.3.5"
    assert "config sourced: yes" in next((project / "logs").glob("board-run-*.log")).read_text()
