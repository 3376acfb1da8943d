"""Packaging: a plain (non-editable) install carries templates/, firmware/ and models/."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.relative_to(ROOT / "host").parent.parts)
             for p in (ROOT / "host" / "fmas_hw").rglob("__init__.py")}
    assert found <= listed, f"add to pyproject [tool.setuptools] packages: {sorted(found - listed)}"


@pytest.mark.slow
def test_wheel_contains_shipped_folders(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True)
    wheel = next(tmp_path.glob("fmas_hw-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "fmas_hw/hw/gap8.toml" in names
    for folder in ("_templates", "_firmware", "_models"):
        assert any(n.startswith(f"fmas_hw/{folder}/") for n in names), folder
    assert any(n.endswith("entry_points.txt") for n in names)
