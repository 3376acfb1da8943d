"""Locate the files shipped with the package: templates/, firmware/, models/ and hardware data.

They live at the repository's top level and are installed as ``fmas_hw._templates`` etc., so the
same lookup works from a source checkout, an editable install and a wheel.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _package_dir(package: str) -> Path:
    return Path(str(resources.files(package)))


def templates_dir() -> Path:
    """Folder holding the Jinja2 templates (``<output>.j2``)."""
    return _package_dir("fmas_hw._templates")


def firmware_dir() -> Path:
    """Folder holding the hand-written GAP8 firmware sources."""
    return _package_dir("fmas_hw._firmware")


def models_dir() -> Path:
    """Folder holding reference architectures, cycle baselines and shipped supernet weights."""
    return _package_dir("fmas_hw._models")


def hw_file(name: str) -> Path:
    """A hardware description data file (e.g. ``gap8.toml``)."""
    return _package_dir("fmas_hw.hw") / name
