"""Finding the GAP SDK's open sources: the SDK's own environment first, the shared extract second."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fmas_hw.toolchain.sdk_sources import (
    PROBE,
    TILER_FOLDERS,
    find_sdk_sources,
    missing_sources_reason,
    pinned_sdk,
    shared_sources_dir,
)

ROOT = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> Path:
    (root / PROBE).parent.mkdir(parents=True)
    (root / PROBE).write_text("#define AT_INF_DIM 13\n")
    return root


def test_the_dockerfile_builds_the_pinned_tag():
    dockerfile = (ROOT / "Dockerfile.gapsdk").read_text()
    assert re.findall(r"^ARG GAP_SDK_VERSION=(\S+)$", dockerfile, re.M) == [pinned_sdk()["tag"]]
    assert pinned_sdk()["tag"] == f"release-v{pinned_sdk()['version']}"


def test_gap_sdk_home_wins_and_its_tiler_variables_are_honoured(tmp_path):
    root = _tree(tmp_path / "sdk")
    elsewhere = tmp_path / "my_inc"
    found = find_sdk_sources({"GAP_SDK_HOME": str(root), "TILER_INC": str(elsewhere)})
    assert found is not None and found.root == root.resolve() and found.origin == "GAP_SDK_HOME"
    assert found.tiler_dir("TILER_INC") == elsewhere
    assert found.tiler_dir("TILER_CNN_KERNEL_PATH_SQ8") == (root / PROBE).parent.resolve()
    env = found.environment()
    assert env["GAP_SDK_HOME"] == str(root.resolve()) and set(TILER_FOLDERS) <= env.keys()


def test_the_shared_extract_is_found_beside_the_checkout(tmp_path):
    checkout = tmp_path / "main"
    checkout.mkdir()
    shared = _tree(shared_sources_dir(checkout))
    found = find_sdk_sources({"TILER_INC": "/not/this/sdk"}, checkout=checkout)
    assert found is not None and found.root == shared.resolve()
    # TILER_* of a configured SDK elsewhere do not leak into the shared tree
    assert found.tiler_dir("TILER_INC") == (shared / "tools/autotiler_v3/Autotiler").resolve()
    assert shared.name == f"gap_sdk-v{pinned_sdk()['version']}"


def test_nothing_found_says_where_it_looked(tmp_path):
    assert find_sdk_sources({"GAP_SDK_HOME": str(tmp_path)}) is None
    assert find_sdk_sources({}, checkout=tmp_path / "main") is None
    reason = missing_sources_reason({"GAP_SDK_HOME": str(tmp_path)})
    assert str(tmp_path) in reason and str(PROBE) in reason and pinned_sdk()["tag"] in reason


@pytest.mark.sdk_sources
def test_the_real_tree_has_what_the_checks_need(sdk_sources):
    for variable in ("TILER_INC", "TILER_EMU_INC", "TILER_CNN_GENERATOR_PATH_SQ8",
                     "TILER_CNN_KERNEL_PATH_SQ8", "TILER_BILINEAR_RESIZE_GENERATOR_PATH"):
        assert sdk_sources.tiler_dir(variable).is_dir(), variable
    assert (sdk_sources.tiler_dir("TILER_INC") / "AutoTilerLib.h").is_file()
    assert (sdk_sources.nntool / "scripts" / "nntool").is_file()
    assert sdk_sources.config_script.is_file()
