"""Fixtures of the data tests: one tiny synthetic VOC tree, generated once per session."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from fmas_hw.data.cache import clear_memory_cache
from fmas_hw.data.synth import write_synthetic_voc

TRAIN, VAL, SIZE, CLASSES = 6, 5, 40, 5


@pytest.fixture(scope="session")
def tiny() -> SimpleNamespace:
    """Counts of the session's synthetic tree: ``train``, ``val``, ``size``, ``classes``."""
    return SimpleNamespace(train=TRAIN, val=VAL, size=SIZE, classes=CLASSES)


@pytest.fixture(scope="session")
def synth_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only synthetic data set (do not modify it: copy it with ``voc_copy``)."""
    out = tmp_path_factory.mktemp("synth")
    write_synthetic_voc(out, train=TRAIN, val=VAL, size=SIZE, num_classes=CLASSES, seed=3)
    return out / "VOC2012"


@pytest.fixture
def voc_copy(synth_tree: Path, tmp_path: Path) -> Path:
    """A private copy of the synthetic data set that a test may corrupt."""
    return Path(shutil.copytree(synth_tree, tmp_path / "VOC2012"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Keep the disk cache out of the user's home and the memory cache out of other tests."""
    monkeypatch.setenv("FMAS_HW_CACHE", str(tmp_path / "cache"))
    clear_memory_cache()
    yield
    clear_memory_cache()
