"""Cycle-count regression checks of reference models (``fmas-hw regress``, SPEC §6.3).

The check a model repository's CI runs: every reference architecture in ``models/reference/``
is measured on a target and compared with the committed baseline ``models/baselines/<target>.json``.
A model slower than its baseline by more than the tolerance is a regression (exit code 1); one
faster by more than the tolerance is reported so that the baseline gets updated deliberately
(``--update``); a reference without a baseline fails too, so it cannot slip in unchecked.

Reference file (one per model)::

    {"name": "mbv2-supernet", "backbone": "mobilenetv2", "genome": "0000...", "classes": 21,
     "alpha": 1.0, "note": "why this model is a reference", "input_size": 384 (optional)}

Baseline file::

    {"schema": 1, "target": "estimate", "tool": {...}, "models": {"mbv2-supernet": 2189000000, ...}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, FmasError
from ..gap8.candidate_file import GAP8_INPUT_SIZE, CandidateSpec
from ..gap8.generated_projects import GeneratedProjects
from ..resources import models_dir
from ..space import Arch, get_space
from .base import Target
from .measurement import Measurement

SCHEMA = 1
REFERENCE_KEYS = ("name", "backbone", "genome", "classes", "alpha", "note")
DEFAULT_TOLERANCE = 0.02
#: Tool versions recorded in a baseline (portable ones only).
BASELINE_TOOL_KEYS = ("cycle_model", "scale", "sdk", "autotiler", "protocol")


class RegressionError(FmasError):
    """A reference model got slower than its baseline, or has none (``fmas-hw regress`` exits 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Reference:
    """A reference architecture (see the module docstring for its file)."""

    name: str
    backbone: str
    genome: str
    classes: int
    alpha: float
    note: str
    input_size: int = GAP8_INPUT_SIZE
    path: str = ""

    @property
    def arch(self) -> Arch:
        """The decoded architecture."""
        return get_space(self.backbone).decode(self.genome)

    @property
    def spec(self) -> CandidateSpec:
        """The network a target measures."""
        return CandidateSpec(self.arch, self.classes, self.alpha, self.input_size)


@dataclass(frozen=True)
class Row:
    """One line of the regression table.

    Attributes:
        name: reference model.
        baseline: baseline cycles (None when the baseline has no entry).
        now: cycles measured now.
        verdict: 'ok', 'REGRESSION', 'faster - update the baseline' or 'no baseline'.
    """

    name: str
    baseline: int | None
    now: int
    verdict: str

    @property
    def delta(self) -> float | None:
        """Relative change ``now / baseline - 1`` (None without a baseline)."""
        return None if not self.baseline else self.now / self.baseline - 1.0

    @property
    def failed(self) -> bool:
        """True for a regression or a missing baseline."""
        return self.verdict in ("REGRESSION", "no baseline")


def references_dir() -> Path:
    """``models/reference`` of the installed package."""
    return models_dir() / "reference"


def baseline_path(target: str) -> Path:
    """``models/baselines/<target>.json`` of the installed package."""
    return models_dir() / "baselines" / f"{target}.json"


def load_references(folder: str | Path | None = None) -> list[Reference]:
    """Every ``*.json`` reference in ``folder`` (default :func:`references_dir`), sorted by name.

    Raises:
        ConfigError: no references, a file is not valid JSON, lacks a key, has a bad genome,
            or two files share a name.
    """
    folder = Path(folder) if folder else references_dir()
    refs = [_reference(path) for path in sorted(folder.glob("*.json"))]
    if not refs:
        raise ConfigError(f"no reference models (*.json) in {folder}: add some or pass --models DIR")
    names = [r.name for r in refs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"reference names must be unique in {folder}: {', '.join(dupes)}")
    return sorted(refs, key=lambda r: r.name)


def _reference(path: Path) -> Reference:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"reference {path} is not readable JSON: {exc}") from exc
    missing = [k for k in REFERENCE_KEYS if not isinstance(data, dict) or k not in data]
    if missing:
        raise ConfigError(f"reference {path} lacks {', '.join(missing)} (keys: {', '.join(REFERENCE_KEYS)})")
    ref = Reference(str(data["name"]), str(data["backbone"]), str(data["genome"]), int(data["classes"]),
                    float(data["alpha"]), str(data["note"]), int(data.get("input_size", GAP8_INPUT_SIZE)),
                    str(path))
    try:
        ref.arch  # noqa: B018 - validates the genome now, with the file named
    except ConfigError as exc:
        raise ConfigError(f"reference {path}: {exc}") from exc
    return ref


def load_baseline(path: str | Path, target: str | None = None) -> dict[str, Any]:
    """Read a baseline file (of ``target``'s cycles, for the advice when it is missing).

    Raises:
        ConfigError: missing (say how to create it, and where), unreadable, or of another schema.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"no baseline {file}: {missing_baseline_advice(file, target)}")
    try:
        data = json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"baseline {file} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("models"), dict):
        raise ConfigError(f"baseline {file} is not a schema-{SCHEMA} baseline with a 'models' table: "
                          "regenerate it with `fmas-hw regress --update`")
    return data


def missing_baseline_advice(file: Path, target: str | None) -> str:
    """How to create a missing baseline: where it is looked for in a checkout; a path inside an
    installed package (site-packages) is no place to write and commit one, so the advice then
    names the repository's ``models/baselines/`` explicitly."""
    option = f" --target {target}" if target else ""
    if not any(part in ("site-packages", "dist-packages") for part in file.resolve().parts):
        return f"create it with `fmas-hw regress{option} --update --baseline {file}` and commit it"
    name = file.name if target is None else f"{target}.json"
    return (f"that is the installed package's copy; in your fmas-hw checkout run `fmas-hw regress{option} "
            f"--update --baseline models/baselines/{name}` and commit that file")


def write_baseline(path: str | Path, target: str, cycles: dict[str, int], tool: dict[str, str]) -> Path:
    """Write a baseline file (sorted, one model per line, stable diffs)."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    data = {"schema": SCHEMA, "target": target, "tool": dict(sorted(tool.items())),
            "models": dict(sorted((k, int(v)) for k, v in cycles.items()))}
    file.write_text(json.dumps(data, indent=2) + "\n")
    return file


def verdict(baseline: int | None, now: int, tolerance: float) -> str:
    """The verdict of one model: slower or faster than ``baseline`` by more than ``tolerance``."""
    if not baseline:
        return "no baseline"
    delta = now / baseline - 1.0
    if delta > tolerance:
        return "REGRESSION"
    if delta < -tolerance:
        return "faster - update the baseline"
    return "ok"


def compare(measured: dict[str, int], baseline: dict[str, Any], tolerance: float) -> list[Row]:
    """Rows of the table for ``measured`` cycles against a baseline's ``models`` table."""
    known = baseline.get("models", {})
    return [Row(name, None if known.get(name) is None else int(known[name]), now,
                verdict(known.get(name), now, tolerance)) for name, now in measured.items()]


def percent_text(delta: float, tolerance: float) -> str:
    """``delta`` in percent with enough digits to show its verdict: 2 decimals, more while the
    rounded figure would sit on the other side of the tolerance, or misstate a small change by
    more than a tenth (``+0.00`` for a change that fails ``--tolerance 0``)."""
    exact, limit = 100 * delta, 100 * tolerance
    for digits in range(2, 10):
        shown = round(exact, digits)
        if ((shown > limit) == (exact > limit) and (shown < -limit) == (exact < -limit)
                and abs(shown - exact) <= 0.1 * abs(exact)):
            return f"{exact:+.{digits}f}"
    return f"{exact:+.2e}"


def format_table(rows: list[Row], tolerance: float) -> str:
    """The table printed by ``fmas-hw regress``."""
    head = f"{'model':<28} {'baseline':>15} {'now':>15} {'delta %':>9}  verdict (tolerance {tolerance * 100:g} %)"
    lines = [head, "-" * len(head)]
    for r in rows:
        base = "-" if r.baseline is None else f"{r.baseline:,}"
        delta = "-" if r.delta is None else percent_text(r.delta, tolerance)
        lines.append(f"{r.name:<28} {base:>15} {r.now:>15,} {delta:>9}  {r.verdict}")
    return "\n".join(lines)


# -- measuring the references ---------------------------------------------------------------------


def measure_reference(ref: Reference, target: Target, work_dir: str | Path | None = None) -> Measurement:
    """Cycles of one reference on ``target``; a target that needs a project measures the reference's
    project ``<work_dir>/<reference name>``, generated from initialiser weights unless it is there
    (cycles do not depend on the weight values).

    Raises:
        ConfigError: a target that needs a project and no work folder.
        MeasurementError: the target failed (see :meth:`Target.measure_candidate`).
    """
    if work_dir is None:
        if target.needs_project:
            raise ConfigError(f"measuring on {target.name} generates a GAP8 project per reference: "
                              "pass --work-dir DIR")
        return target.checked(target.measure_candidate(ref.spec))
    projects = GeneratedProjects(work_dir, names={ref.arch.key: ref.name})
    return target.checked(target.measure_candidate(ref.spec, projects))


@dataclass
class RegressResult:
    """Outcome of :func:`run_regress`: the table rows, the baseline used and whether it failed."""

    rows: list[Row]
    baseline_file: Path
    updated: bool = False

    @property
    def failed(self) -> bool:
        return not self.updated and any(r.failed for r in self.rows)


def run_regress(target: Target, tolerance: float = DEFAULT_TOLERANCE, update: bool = False,
                baseline_file: str | Path | None = None, models: str | Path | None = None,
                work_dir: str | Path | None = None) -> RegressResult:
    """Measure every reference and compare with (or, with ``update``, rewrite) the baseline.

    Raises:
        ConfigError: no references, or no/bad baseline without ``update``.
        MeasurementError: a measurement failed.
    """
    refs = load_references(models)
    path = Path(baseline_file) if baseline_file else baseline_path(target.name)
    # An update still shows the change against the old baseline when there is one.
    baseline = load_baseline(path, target.name) if path.is_file() or not update else {"models": {}}
    results = {ref.name: measure_reference(ref, target, work_dir) for ref in refs}
    measured = {name: m.total_cycles for name, m in results.items()}
    rows = compare(measured, baseline, tolerance)
    if update:
        tool = next(iter(results.values())).tool_versions
        # Only portable provenance: no absolute paths, no per-model verdicts.
        write_baseline(path, target.name, measured, {k: v for k, v in tool.items() if k in BASELINE_TOOL_KEYS})
    return RegressResult(rows, path, update)
