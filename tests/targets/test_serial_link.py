"""Reading one run from a serial link: idle and total timeouts, a port that cannot be opened."""

from __future__ import annotations

import pytest
from fmas_targets_testkit import LAYERS, render_run

from fmas_hw.errors import DeviceNotFoundError, RunTimeoutError
from fmas_hw.targets.serial_link import ReadTimeouts, SerialLink, read_run

RUN = "".join(render_run(LAYERS)).encode()


def test_silence_after_handshake_hits_idle_timeout(board, project, tmp_path) -> None:
    with SerialLink(board.port) as link:  # opening flushes input: play only once open
        board.play([RUN[: RUN.index(b"FMAS:LAYER idx=2")]])
        with pytest.raises(RunTimeoutError, match="went silent for 0.3 s"):
            read_run(link, ReadTimeouts(total_s=5, begin_s=5, idle_s=0.3))


def test_total_timeout(board, tmp_path) -> None:
    begun = RUN[: RUN.index(b"FMAS:LAYER idx=1")]
    with SerialLink(board.port) as link:
        board.play([begun] + [0.1, b"tick\n"] * 7)  # never silent, never finished
        with pytest.raises(RunTimeoutError, match="no FMAS:END .* within 0.5 s"):
            read_run(link, ReadTimeouts(total_s=0.5, begin_s=5, idle_s=5))


def test_unopenable_port(tmp_path) -> None:
    with pytest.raises(DeviceNotFoundError, match="cannot open serial port .*nope"):
        SerialLink(str(tmp_path / "nope")).open()
