"""Fixtures of the target tests: a fake GAP SDK, a project folder, a fake board on a pty."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from fmas_targets_testkit import FAKE_MAKE, LAYERS, FakeBoard, executable, render_run


@pytest.fixture
def run_bytes() -> bytes:
    """A complete, valid run as the firmware prints it."""
    return "".join(render_run(LAYERS)).encode()


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


@pytest.fixture
def board(tmp_path: Path) -> Iterable[FakeBoard]:
    fake = FakeBoard(tmp_path)
    yield fake
    fake.close()


@pytest.fixture
def counting_trigger() -> Callable[..., tuple[Callable[[object], None], list[int]]]:
    """Factory of board triggers that play one script per call and count the calls."""

    def make(fake: FakeBoard, scripts: list[list[bytes | float | str]]):
        calls: list[int] = []

        def trigger(link: object) -> None:
            calls.append(len(calls) + 1)
            fake.play(scripts[min(len(calls), len(scripts)) - 1])

        return trigger, calls

    return make
