"""``candidate.json``: which network a generated GAP8 project holds, and how it was made.

The one contract between :func:`fmas_hw.gap8.project_writer.write_project` (which writes the file) and
everything that reads a project back: the targets (the estimate re-derives the candidate's layer
graph from it, the hardware targets check which build route applies), ``fmas-hw export``'s
summary and the calibration records. The file is a JSON object::

    {"backbone": "mobilenetv2",                     # search space (required)
     "genome": "0000111111111111111111111111",      # bit string of that space (required)
     "classes": 21,                                 # number of classes (required)
     "alpha": 1.0,                                  # MobileNetV2 width multiplier (required)
     "input_size": 384,                             # adapted input size (default 384)
     "route": "open",                               # the Makefile's default ROUTE (autotiler if absent)
     "key": "...", "prefix": "fmas", "adaptations": [...], "fmas_hw": "0.1.0"}   # provenance
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ConfigError, MeasurementError
from ..space import Arch, get_space

CANDIDATE_FILE = "candidate.json"
#: Keys ``candidate.json`` must have.
REQUIRED_KEYS = ("backbone", "genome", "classes", "alpha")
#: The route of a ``candidate.json`` that names none (written before the open route existed).
DEFAULT_ROUTE = "autotiler"
#: The route of every project fmas-hw writes by default: its own tiled C, no licensed part.
OPEN_ROUTE = "open"
#: Input size of every candidate measured on GAP8 (SPEC §6.1, adaptation 1).
GAP8_INPUT_SIZE = 384


@dataclass(frozen=True)
class CandidateSpec:
    """One network as a target measures it: the architecture and the network's options.

    Attributes:
        arch: the candidate sub-network.
        classes: number of output classes.
        alpha: MobileNetV2 width multiplier (1.0 for Xception).
        input_size: the GAP8-adapted input size.
    """

    arch: Arch
    classes: int = 21
    alpha: float = 1.0
    input_size: int = GAP8_INPUT_SIZE

    @property
    def genome(self) -> str:
        """The candidate's bit string in its search space."""
        return get_space(self.arch.backbone).encode(self.arch)

    def describe(self) -> str:
        """``mobilenetv2 <genome> (21 classes, alpha 1)``, for messages and reports."""
        return f"{self.arch.backbone} {self.genome} ({self.classes} classes, alpha {self.alpha:g})"


@dataclass(frozen=True)
class CandidateFile:
    """The parsed ``candidate.json`` of a project: the network plus how the project was made."""

    spec: CandidateSpec
    route: str = DEFAULT_ROUTE
    provenance: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``candidate.json``."""
        s = self.spec
        return {"backbone": s.arch.backbone, "genome": s.genome, "classes": s.classes,
                "alpha": s.alpha, "input_size": s.input_size, **(self.provenance or {}),
                "route": self.route}


def candidate_record(spec: CandidateSpec, prefix: str, route: str, adaptations: list[str]) -> CandidateFile:
    """What :func:`~fmas_hw.gap8.project_writer.write_project` records for a new project."""
    provenance = {"key": spec.arch.key, "prefix": prefix, "adaptations": adaptations, "fmas_hw": __version__}
    return CandidateFile(spec, route, provenance)


def write_candidate(project_dir: str | Path, record: CandidateFile) -> Path:
    """Write ``<project_dir>/candidate.json``; return its path."""
    path = Path(project_dir) / CANDIDATE_FILE
    path.write_text(json.dumps(_ordered(record.to_dict()), indent=2) + "\n")
    return path


def has_candidate(project_dir: str | Path) -> bool:
    """Whether ``project_dir`` already holds a generated project (its ``candidate.json``)."""
    return (Path(project_dir) / CANDIDATE_FILE).is_file()


def project_route(project_dir: str | Path) -> str:
    """The project's default build route; ``autotiler`` when its ``candidate.json`` does not say
    (a missing or malformed file is reported where the candidate itself is needed)."""
    try:
        route = json.loads((Path(project_dir) / CANDIDATE_FILE).read_text()).get("route", DEFAULT_ROUTE)
    except (OSError, ValueError, AttributeError):
        return DEFAULT_ROUTE
    return str(route)


def read_candidate(project_dir: str | Path) -> CandidateFile:
    """Read and validate ``<project_dir>/candidate.json``.

    Raises:
        MeasurementError: the file is missing, is not a JSON object, lacks a key, or its genome
            does not decode.
    """
    path = Path(project_dir) / CANDIDATE_FILE
    data = _load(path)
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise MeasurementError(f"{path} lacks {', '.join(missing)}: expected an object with keys "
                               f"{', '.join(REQUIRED_KEYS)}")
    try:
        arch = get_space(str(data["backbone"])).decode(str(data["genome"]))
        spec = CandidateSpec(arch, int(data["classes"]), float(data["alpha"]),
                             int(data.get("input_size", GAP8_INPUT_SIZE)))
    except (ConfigError, ValueError, TypeError) as exc:
        raise MeasurementError(f"{path}: {exc}") from exc
    provenance = {k: v for k, v in data.items() if k not in (*REQUIRED_KEYS, "input_size", "route")}
    return CandidateFile(spec, str(data.get("route", DEFAULT_ROUTE)), provenance)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise MeasurementError(f"{path} not found: a generated project describes its candidate in "
                               "it; generate the project with `fmas-hw export` or measure with "
                               "--backbone/--genome") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise MeasurementError(f"{path} is not readable JSON ({exc}); regenerate it with `fmas-hw export`") from exc
    if not isinstance(data, dict):
        raise MeasurementError(f"{path} lacks {', '.join(REQUIRED_KEYS)}: expected an object with keys "
                               f"{', '.join(REQUIRED_KEYS)}")
    return data


_ORDER = ("backbone", "genome", "classes", "alpha", "input_size", "key", "prefix", "route",
          "adaptations", "fmas_hw")


def _ordered(data: dict[str, Any]) -> dict[str, Any]:
    """The keys in the order projects have always written them (stable diffs between exports)."""
    return {**{k: data[k] for k in _ORDER if k in data}, **{k: v for k, v in data.items() if k not in _ORDER}}
