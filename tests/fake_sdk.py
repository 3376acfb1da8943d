"""A fake GAP SDK for the toolchain and target tests: config script, AutoTiler library, toolchain
folder and a stand-in ``make`` that records its arguments and fails, sleeps or prints on request.
The conftests of the tests that need them import the fixtures :func:`fake_sdk` and :func:`project`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

FAKE_MAKE = """#!/bin/sh
# Stand-in for GNU make: records how it was called, then behaves as the test asks.
printf '%s\\n' "$PWD" "$@" > "${FMAS_FAKE_ARGS:-/dev/null}"
echo "config sourced: ${FMAS_FAKE_SOURCED:-no}"
if [ -n "$FMAS_FAKE_SLEEP" ]; then
    sleep "$FMAS_FAKE_SLEEP" &
    echo $! > "$FMAS_FAKE_CHILD"
    wait
fi
if [ -n "$FMAS_FAKE_OUTPUT" ]; then cat "$FMAS_FAKE_OUTPUT"; fi
exit "${FMAS_FAKE_STATUS:-0}"
"""


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def fake_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A GAP_SDK_HOME with config script, AutoTiler library and toolchain, and a fake make."""
    home = tmp_path / "gap_sdk"
    executable(home / "configs" / "gapuino_v3.sh", "export FMAS_FAKE_SOURCED=yes\n")
    tiler = home / "tools" / "autotiler_v3"
    (tiler / "Autotiler").mkdir(parents=True)
    (tiler / "Autotiler" / "LibTile.a").write_bytes(b"!<arch>\n")
    (tiler / "Makefile").write_text("TILER_VER=4.3.5\nexport TILER_LIB=...\n")
    toolchain = tmp_path / "toolchain"
    executable(toolchain / "bin" / "riscv32-unknown-elf-gcc", "#!/bin/sh\n")
    executable(tmp_path / "fakebin" / "make", FAKE_MAKE)
    monkeypatch.setenv("GAP_SDK_HOME", str(home))
    monkeypatch.setenv("GAP_RISCV_GCC_TOOLCHAIN", str(toolchain))
    monkeypatch.delenv("FMAS_GAP_CONFIG", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path / 'fakebin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FMAS_FAKE_ARGS", str(tmp_path / "make-args.txt"))
    for name in ("FMAS_FAKE_SLEEP", "FMAS_FAKE_OUTPUT", "FMAS_FAKE_STATUS", "FMAS_FAKE_SOURCED"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An (empty) generated GAP8 project folder."""
    path = tmp_path / "cand-0001"
    path.mkdir()
    (path / "Makefile").write_text("# generated\n")
    return path
