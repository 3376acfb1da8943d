"""Template rendering: every template mapped, missing variables and templates named.

The rendered model source itself is checked in ``test_codegen.py`` (parsed back, compiled
against the real headers) and the other files in ``test_project.py`` (golden copies).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fmas_hw.errors import ExportError
from fmas_hw.gap8.render import OUTPUTS, environment, render
from fmas_hw.resources import templates_dir


def test_every_template_is_mapped_and_exists():
    folder = templates_dir()
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*.j2")}
    assert on_disk == set(OUTPUTS.values())
    assert all(output.endswith(Path(t).name[:-3]) or "{prefix}" in output for output, t in OUTPUTS.items())


def test_missing_template_variable_names_template_and_variable(tmp_path):
    (tmp_path / "x.c.j2").write_text("int {{ present }} = {{ absent }};\n")
    env = environment(tmp_path)
    with pytest.raises(ExportError, match=r"template 'x.c.j2' uses variable 'absent'"):
        render("x.c.j2", {"present": "a"}, env)


def test_missing_variable_in_a_real_template_fails_clearly():
    with pytest.raises(ExportError, match=r"template 'nntool_script.j2' uses variable '\w+'"):
        render("nntool_script.j2", {})


def test_missing_template_is_reported():
    with pytest.raises(ExportError, match="template 'nope.j2' not found"):
        render("nope.j2", {})

