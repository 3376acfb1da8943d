"""Finding the GAP SDK, saying what is missing, composing the make command, reading versions."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from fmas_hw.errors import SdkMissingError
from fmas_hw.toolchain.sdk_env import check_sdk, find_sdk, sdk_shell_command, sdk_versions


def test_shell_command_quotes_every_part() -> None:
    argv = sdk_shell_command(
        "/opt/gap sdk/configs/gapuino_v3.sh", "/work/cand's dir", ["run", "platform=gvsoc", "X=a b"]
    )
    assert argv == [
        "bash",
        "-c",
        "source '/opt/gap sdk/configs/gapuino_v3.sh' && cd '/work/cand'\"'\"'s dir' "
        "&& make run platform=gvsoc 'X=a b'",
    ]
    # bash sees exactly the intended words
    assert shlex.split(argv[2])[-3:] == ["run", "platform=gvsoc", "X=a b"]


def test_complete_fake_sdk_is_found(fake_sdk: Path) -> None:
    found = check_sdk(("sdk", "toolchain", "autotiler"))
    assert found.home == fake_sdk
    assert found.config_script == fake_sdk / "configs" / "gapuino_v3.sh"
    assert found.autotiler_lib == fake_sdk / "tools/autotiler_v3/Autotiler/LibTile.a"


def test_versions_recorded(fake_sdk: Path) -> None:
    versions = sdk_versions(find_sdk())
    assert versions["autotiler"] == "4.3.5"
    assert versions["gap_config"] == "gapuino_v3"
    assert "gap_sdk" not in versions  # not a git checkout: nothing invented


def test_config_override_by_name_and_path(fake_sdk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMAS_GAP_CONFIG", "ai_deck")
    assert find_sdk().config_script == fake_sdk / "configs" / "ai_deck.sh"
    with pytest.raises(SdkMissingError, match=r"ai_deck\.sh not found \(FMAS_GAP_CONFIG\)"):
        check_sdk(("sdk",))
    monkeypatch.setenv("FMAS_GAP_CONFIG", str(fake_sdk / "configs" / "gapuino_v3.sh"))
    assert check_sdk(("sdk",)).config_script == fake_sdk / "configs" / "gapuino_v3.sh"


def test_missing_sdk_message_lists_each_part(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GAP_SDK_HOME", raising=False)
    monkeypatch.setenv("GAP_RISCV_GCC_TOOLCHAIN", str(tmp_path / "no-toolchain"))
    with pytest.raises(SdkMissingError) as info:
        check_sdk(("sdk", "toolchain", "autotiler"))
    message = str(info.value)
    assert "sdk: GAP_SDK_HOME is not set" in message
    assert f"toolchain: {tmp_path / 'no-toolchain'}/bin/riscv32-unknown-elf-gcc not found" in message
    assert "autotiler" in message and "LibTile.a" in message and "licensed" in message
    assert "docker build -f Dockerfile.gapsdk" in message
    assert "nntool" not in message  # only what was required


def test_only_the_autotiler_missing(fake_sdk: Path) -> None:
    (fake_sdk / "tools/autotiler_v3/Autotiler/LibTile.a").unlink()
    with pytest.raises(SdkMissingError) as info:
        check_sdk()
    assert "  - autotiler:" in str(info.value)
    assert "  - sdk:" not in str(info.value) and "  - toolchain:" not in str(info.value)


def test_nntool_found_on_path_or_in_sdk(fake_sdk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SdkMissingError, match="nntool: nntool not found"):
        check_sdk(("nntool",))
    (fake_sdk / "tools" / "nntool").mkdir()
    assert check_sdk(("nntool",)).nntool == fake_sdk / "tools" / "nntool"


def test_unknown_component_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="gvsoc"):
        check_sdk(("gvsoc",))


def test_sdk_tag_from_git_describe(fake_sdk: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git not found: cannot build a throw-away SDK checkout")
    quiet = {"check": True, "capture_output": True, "timeout": 30, "cwd": fake_sdk}
    subprocess.run([git, "init", "-q"], **quiet)
    subprocess.run([git, "add", "-A"], **quiet)
    subprocess.run([git, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "sdk"], **quiet)
    subprocess.run([git, "tag", "release-v4.12.0"], **quiet)
    assert sdk_versions(find_sdk())["gap_sdk"] == "release-v4.12.0"
