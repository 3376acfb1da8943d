"""Helpers of the target tests: the header's printf formats and a fake board on a pty.

A uniquely named module (not conftest) so that test modules can import it unambiguously.
"""

from __future__ import annotations

import os
import re
import threading
import time
import tty
from collections.abc import Iterable
from pathlib import Path

from fmas_hw.resources import firmware_dir

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = firmware_dir() / "fmas_protocol.h"

_DEFINE_FMT = re.compile(r'^#define\s+FMAS_FMT_(\w+)\s+"((?:[^"\\]|\\.)*)"\s*$', re.MULTILINE)
_CONVERSION = re.compile(r"%(?P<flags>0?\d*)(?P<conv>[a-z])")


def header_formats(text: str | None = None) -> dict[str, str]:
    """``FMAS_FMT_<NAME>`` printf formats of the header, as Python %-formats keyed by NAME."""
    text = HEADER.read_text() if text is None else text
    formats = {}
    for name, literal in _DEFINE_FMT.findall(text):
        c_format = literal.encode().decode("unicode_escape")  # C escapes (\n) -> characters
        formats[name] = _CONVERSION.sub(_to_python, c_format)
    return formats


def _to_python(match: re.Match[str]) -> str:
    conv = {"u": "d", "d": "d", "s": "s", "x": "x"}.get(match["conv"])
    if conv is None:
        raise AssertionError(f"conversion %{match['conv']} not supported by the test renderer")
    return f"%{match['flags']}{conv}"


def render_run(
    layers: Iterable[tuple[str, int, int]],
    *,
    model: str = "mbv2_test",
    freq: int = 175_000_000,
    checksum: int | None = 0x5A17C0DE,
    status: int = 0,
    formats: dict[str, str] | None = None,
) -> list[str]:
    """The lines a firmware prints for one run, rendered from the header's format strings."""
    fmt = formats or header_formats()
    layers = list(layers)
    lines = [fmt["BEGIN"] % (1, model)]
    lines += [fmt["LAYER"] % (i, name, cyc, ops) for i, (name, cyc, ops) in enumerate(layers)]
    total = sum(c for _, c, _ in layers) % (1 << 32)
    lines.append(fmt["TOTAL"] % (total, sum(o for _, _, o in layers) % (1 << 32), freq))
    if checksum is not None:
        lines.append(fmt["CHECKSUM"] % checksum)
    lines.append(fmt["END"] % (status, len(layers)))
    return lines


LAYERS = [
    ("S1_Op_input_1_formatter", 1_180_012, 442_368),
    ("S4_Conv2d_32x3x3x3_Relu6", 15_732_108, 31_850_496),
    ("S7_MatAdd_24x96x96", 301_877, 221_184),
]


# ---- a fake board on a real pseudo-terminal -----------------------------------------------------


class FakeBoard:
    """Plays the firmware's side of a UART on a real pty pair.

    The host opens ``port``, a symlink to the pty's slave (like ``/dev/serial/by-id/...``);
    :meth:`disconnect` closes the master (the USB device vanishes) and, when asked, creates a new
    pty behind the same name (the board re-enumerates after a reset).
    """

    def __init__(self, folder: Path) -> None:
        self.link = folder / "ttyFAKE0"
        self.master = self.slave = -1
        self.threads: list[threading.Thread] = []
        self._new_pty()

    @property
    def port(self) -> str:
        return str(self.link)

    def _new_pty(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # raw before the host opens it: no echo, no CR/LF mangling
        tmp = self.link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(self.slave))
        os.replace(tmp, self.link)

    def play(self, script: Iterable[bytes | float | str]) -> threading.Thread:
        """Write the script in a thread: bytes are written, floats are pauses, ``"disconnect"``
        closes the pty, ``"reenumerate"`` closes it and creates a new one behind the same name."""
        thread = threading.Thread(target=self._play, args=(list(script),), daemon=True)
        thread.start()
        self.threads.append(thread)
        return thread

    def _play(self, script: list[bytes | float | str]) -> None:
        for step in script:
            if isinstance(step, float):
                time.sleep(step)
            elif step in ("disconnect", "reenumerate"):
                self.disconnect(reenumerate=step == "reenumerate")
            elif isinstance(step, bytes):
                try:
                    os.write(self.master, step)
                except OSError:
                    return

    def disconnect(self, reenumerate: bool = False) -> None:
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = -1
        if reenumerate:
            self._new_pty()

    def close(self) -> None:
        for thread in self.threads:
            thread.join(timeout=5)
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1


