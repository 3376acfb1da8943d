"""The package's shape (issue #13's acceptance): an honest import graph, targets behind one interface.

Read from the sources with :mod:`ast`, so the checks see every import, also those inside
functions (kept there so that a command does not import TensorFlow before it needs it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fmas_hw.targets.registry import target_names

PACKAGE = Path(__file__).resolve().parents[1] / "host" / "fmas_hw"
#: What the top level of the package may hold besides the stage packages.
TOP_LEVEL_MODULES = {"__init__.py", "errors.py", "resources.py", "demo.py"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(name: str, path: Path) -> set[str]:
    """The package modules ``name`` imports, anywhere in its body (not for type checking only),
    with the parent packages Python initialises on the way."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if _is_type_checking_block(block) for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = name.split(".") if is_package else name.split(".")[:-1]
            if node.level:
                base = base[:len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.update(f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names)
    parents = {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 1)}
    return {m for m in found | parents if m in MODULES and m != name and not name.startswith(m + ".")}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_the_packages_modules():
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    assert _cycles(graph) == []


def test_the_import_graph_sees_function_level_imports():
    imports = _imports("fmas_hw.cli.main", MODULES["fmas_hw.cli.main"])
    assert {"fmas_hw.cli.search", "fmas_hw.cli.measure", "fmas_hw.errors"} <= imports
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


#: The modules that import user plugins by name (an evaluator factory "package.module:callable").
PLUGIN_LOADERS = {"fmas_hw.search.evaluation", "fmas_hw.search.session"}
IMPORT_CALLS = {"importlib.import_module", "__import__", "importlib.util.find_spec", "import_module"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_project_module_is_imported_by_string(name):
    tree = ast.parse(MODULES[name].read_text())
    specs = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and n.value.partition(":")[0] in MODULES and ":" in n.value]
    assert specs == [], f"{name} names project modules as 'module:attr': {specs}"
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)} & IMPORT_CALLS
    assert not calls or name in PLUGIN_LOADERS, f"{name} imports modules by name: {calls}"


def _target_checks(tree: ast.AST) -> list[str]:
    names = set(target_names())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            strings = [c.value for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
            members = [e.value for c in node.comparators if isinstance(c, ast.Tuple | ast.List | ast.Set)
                       for e in c.elts if isinstance(e, ast.Constant)]
            if names & {*strings, *members}:
                bad.append(ast.unparse(node))
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "isinstance":
            if "Target" in ast.unparse(node.args[1]):
                bad.append(ast.unparse(node))
    return bad


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.startswith("fmas_hw.targets")))
def test_only_the_targets_tell_targets_apart(name):
    assert _target_checks(ast.parse(MODULES[name].read_text())) == []


def test_the_target_check_catches_both_forms():
    tree = ast.parse("if t.name == 'estimate' or isinstance(t, EstimateTarget) or s in ('gvsoc', 'x'): pass")
    assert len(_target_checks(tree)) == 3


def test_top_level_holds_only_the_entry_points_and_the_stage_packages():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in TOP_LEVEL_MODULES)
    assert loose == [], f"modules at the top of fmas_hw/ belong in a stage package: {loose}"


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_eval_depends_only_on_the_stages_before_it():
    allowed = ("fmas_hw.eval", "fmas_hw.model", "fmas_hw.space", "fmas_hw.data", "fmas_hw.errors")
    outside = {m: sorted(i for i in _imports(m, p) if i != "fmas_hw" and not _within(i, allowed))
               for m, p in MODULES.items() if _within(m, ("fmas_hw.eval",))}
    assert {m: i for m, i in outside.items() if i} == {}
    assert not _within("fmas_hw.evaluation", allowed) and _within("fmas_hw.eval.costs", allowed)


#: The package's layers, lowest first (the README's "How it flows"): a package imports only
#: packages of earlier layers (or of its own).
LAYERS = (
    ("fmas_hw.errors", "fmas_hw.resources", "fmas_hw.hw"),
    ("fmas_hw.space",),
    ("fmas_hw.data", "fmas_hw.model"),
    ("fmas_hw.eval",),
    ("fmas_hw.toolchain",),
    ("fmas_hw.gap8",),
    ("fmas_hw.costmodel",),
    ("fmas_hw.targets",),
    ("fmas_hw.store",),
    ("fmas_hw.report",),
    ("fmas_hw.search",),
    ("fmas_hw.training",),
    ("fmas_hw.demo", "fmas_hw.dashboard"),
    ("fmas_hw.cli",),
)


def _layer(module: str, layers: tuple[tuple[str, ...], ...]) -> int:
    top = ".".join(module.split(".")[:2])
    return next(i for i, layer in enumerate(layers) if top in layer)


def _upward_imports(layers: tuple[tuple[str, ...], ...] = LAYERS) -> list[str]:
    return sorted(f"{m} -> {i}" for m, p in MODULES.items() if m != "fmas_hw"
                  for i in _imports(m, p) if i != "fmas_hw" and _layer(i, layers) > _layer(m, layers))


def test_every_package_has_a_layer():
    tops = {".".join(m.split(".")[:2]) for m in MODULES if m != "fmas_hw"}
    assert tops == {p for layer in LAYERS for p in layer}


def test_packages_import_only_the_layers_below_them():
    assert _upward_imports() == []


def test_the_layer_check_sees_an_upward_import():
    swapped = tuple(("fmas_hw.targets",) if layer == ("fmas_hw.costmodel",) else
                    ("fmas_hw.costmodel",) if layer == ("fmas_hw.targets",) else layer for layer in LAYERS)
    assert "fmas_hw.targets.estimate -> fmas_hw.costmodel.cycle_model" in _upward_imports(swapped)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_350_lines(name):
    assert len(MODULES[name].read_text().splitlines()) <= 350, f"{name}: split it by what its parts are for"


def test_the_command_lines_targets_are_a_fixed_map():
    """Code that measures on another target passes the instance; nothing is registered at run time."""
    root = PACKAGE.parents[1]
    sources = [*root.joinpath("tests").rglob("*.py"), *root.joinpath("bench").glob("*.py"), *MODULES.values()]
    patched = [str(p) for p in sources if p.name != "test_structure.py"
               and any(word in p.read_text() for word in ("_TARGETS", "register_target"))]
    assert patched == []


def test_the_search_loop_never_asks_which_strategy_or_backend_it_has():
    tree = ast.parse(MODULES["fmas_hw.search.loop"].read_text())
    checks = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "isinstance"]
    assert checks == []
