"""Building a project with make and the SDK sourced: failures name the log, timeouts kill the group."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fmas_hw.errors import BuildError, RunTimeoutError
from fmas_hw.toolchain import project_build
from fmas_hw.toolchain.sdk_env import check_sdk

ALL_PARTS = ("sdk", "toolchain", "autotiler")


def test_build_failure_shows_log_and_tail(fake_sdk: Path, project: Path, monkeypatch) -> None:
    output = project / "out.txt"
    output.write_text("".join(f"line {i}\n" for i in range(40)) + "GenTile: no tiling solution\n")
    monkeypatch.setenv("FMAS_FAKE_OUTPUT", str(output))
    monkeypatch.setenv("FMAS_FAKE_STATUS", "2")
    with pytest.raises(BuildError) as info:
        project_build.build_project(project, ["clean", "all"], log_stem="gvsoc-build", timeout_s=30,
                                    require=ALL_PARTS)
    message = str(info.value)
    assert "exited with status 2" in message and "no tiling solution" in message
    assert "line 21" in message and "line 19" not in message  # the last 20 lines only
    log = Path(message.split("Full log: ")[1].split("\n")[0])
    assert log.parent == project / "logs" and log.name.startswith("gvsoc-build-")
    assert "config sourced: yes" in log.read_text()


def test_missing_project_is_a_build_error(fake_sdk: Path, tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no Makefile"):
        project_build.build_project(tmp_path / "nope", ["all"], log_stem="x", timeout_s=5, require=ALL_PARTS)
    assert not (tmp_path / "nope").exists()


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")


def test_timeout_kills_the_whole_process_group(fake_sdk: Path, project: Path, monkeypatch) -> None:
    child = project / "child.pid"
    monkeypatch.setenv("FMAS_FAKE_SLEEP", "30")
    monkeypatch.setenv("FMAS_FAKE_CHILD", str(child))
    sdk_env = check_sdk()
    with pytest.raises(RunTimeoutError, match=r"did not finish within 0.5 s.*Log: .*gvsoc-"):
        project_build.run_make(sdk_env, project, ["run"], log_stem="gvsoc", timeout_s=0.5, what="GVSoC run")
    pid = int(child.read_text())  # the grandchild `sleep`, in make's process group
    for _ in range(50):
        if _dead(pid):
            break
        subprocess.run(["sleep", "0.05"], check=False)
    assert _dead(pid)
