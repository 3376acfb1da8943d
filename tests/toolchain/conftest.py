"""Fixtures of the toolchain tests: a fake GAP SDK and a project folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_sdk import empty_project, install_fake_sdk


@pytest.fixture
def fake_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A GAP_SDK_HOME with config script, AutoTiler library and toolchain, and a fake make."""
    return install_fake_sdk(tmp_path, monkeypatch)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An (empty) generated GAP8 project folder."""
    return empty_project(tmp_path)
