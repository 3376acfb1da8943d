"""Template rendering: every template mapped, thin templates, missing variables and templates named.

The rendered model source itself is checked in ``test_codegen.py`` (parsed back, compiled
against the real headers) and the other files in ``test_project_writer.py`` (golden copies).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fmas_hw.errors import ExportError
from fmas_hw.gap8.render import OPEN_OUTPUTS, OUTPUTS, counted, environment, render
from fmas_hw.resources import templates_dir

#: What a template may hold: a loop, an ``if`` on a prepared flag, a substitution, a join.
STATEMENT = re.compile(r"\s*(for [\w, ]+ in [\w.]+|if [\w.]+|else|endif|endfor)\s*")
EXPRESSION = re.compile(r'\s*[\w.]+(\s*\|\s*join\("[^"]*"\))?\s*')


def test_every_template_is_mapped_and_exists():
    folder = templates_dir()
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*.j2")}
    assert on_disk == set(OUTPUTS.values()) | set(OPEN_OUTPUTS.values())
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


@pytest.mark.parametrize("template", sorted({*OUTPUTS.values(), *OPEN_OUTPUTS.values()}))
def test_templates_only_loop_and_substitute(template):
    """Python prepares every value: no comparison, arithmetic, other filter or inline choice."""
    text = (templates_dir() / template).read_text()
    for statement in re.findall(r"{%(.*?)%}", text, re.S):
        assert STATEMENT.fullmatch(statement), f"{template}: {{%{statement}%}}"
    for expression in re.findall(r"{{(.*?)}}", text, re.S):
        assert EXPRESSION.fullmatch(expression), f"{template}: {{{{{expression}}}}}"


def test_counted_lists_lead_with_their_length():
    assert counted(['"a"', '"b"']) == ["2", '"a"', '"b"'] and counted([]) == ["0"]
