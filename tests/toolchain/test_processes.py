"""Running commands with a kept log: log names."""

from __future__ import annotations

from pathlib import Path

from fmas_hw.toolchain import processes


def test_log_names_never_collide(tmp_path: Path) -> None:
    paths = set()
    for _ in range(3):
        path = processes.new_log_path(tmp_path, "gvsoc")
        path.write_text("x")
        paths.add(path)
    assert len(paths) == 3
