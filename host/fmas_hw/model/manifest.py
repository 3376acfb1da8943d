"""The manifest written next to a supernet's weights (``<weights>.json``).

It records how the supernet was built and trained — backbone, width, classes, input size, the
exact command, data-set seed and the final validation mIoU — so every command that loads the
weights can build the matching network without the user repeating the options.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import WeightsError

#: Where each network setting came from: given (option, config file or the store being
#: resumed), the weights' manifest, or the built-in default (no manifest says it).
GIVEN, MANIFEST, DEFAULT = "given", "manifest", "default"
#: Built-in defaults of a supernet without a manifest: PASCAL VOC's 21 classes, width 1.0 (SPEC §2).
DEFAULT_CLASSES, DEFAULT_ALPHA = 21, 1.0


def manifest_path(weights: str | Path) -> Path:
    """``model.h5`` -> ``model.json``."""
    return Path(weights).with_suffix(".json")


def read_manifest(weights: str | Path | None) -> dict[str, Any]:
    """The manifest of ``weights``; an empty dict when there is none (e.g. public VOC weights).

    Raises:
        WeightsError: the manifest exists but is not valid JSON.
    """
    if weights is None:
        return {}
    path = manifest_path(weights)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{path} is not valid JSON ({exc}); delete or repair it") from exc


def write_manifest(weights: str | Path, data: dict[str, Any]) -> Path:
    """Write the manifest of ``weights`` and return its path."""
    path = manifest_path(weights)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def build_options(weights: str | Path | None, backbone: str, classes: int | None,
                  alpha: float | None) -> tuple[int, float]:
    """Classes and width for ``weights``: explicit values win, then the manifest, then 21 / 1.0.

    Raises:
        WeightsError: the manifest names another backbone.
    """
    manifest = read_manifest(weights)
    if manifest.get("backbone", backbone) != backbone:
        raise WeightsError(f"{weights} holds a {manifest['backbone']} supernet, not {backbone}: "
                           f"pass --backbone {manifest['backbone']}")
    return (int(classes if classes is not None else manifest.get("classes", DEFAULT_CLASSES)),
            float(alpha if alpha is not None else manifest.get("alpha", DEFAULT_ALPHA)))


@dataclass(frozen=True)
class NetworkSettings:
    """Classes, width and input size of a supernet, and where each one came from.

    Attributes:
        classes / alpha / input_size: the values to build the network with.
        sources: ``{"classes" | "alpha" | "input_size": GIVEN | MANIFEST | DEFAULT}``.
        manifest: the weights' manifest file, when they have one.
        weights: the weight file they are for (None: no weights given).
    """

    classes: int
    alpha: float
    input_size: int
    sources: dict[str, str] = field(default_factory=dict)
    manifest: Path | None = None
    weights: str | None = None

    def describe(self, keys: tuple[str, ...] = ("input_size", "classes", "alpha")) -> str:
        """One line for the terminal: the values of ``keys`` and where each came from, e.g.
        ``input 96 px, 8 classes, alpha 1.0 (from the manifest models/x.json)``."""
        text = {"input_size": f"input {self.input_size} px", "classes": f"{self.classes} classes",
                "alpha": f"alpha {self.alpha}"}
        by_source: dict[str, list[str]] = {}
        for key in keys:
            by_source.setdefault(self.sources.get(key, GIVEN), []).append(text[key])
        where = {GIVEN: "as given", MANIFEST: f"from the manifest {self.manifest}",
                 DEFAULT: f"default: {self._why_default()}"}
        return "; ".join(f"{', '.join(values)} ({where[source]})" for source, values in by_source.items())

    def _why_default(self) -> str:
        if self.manifest is not None:
            return f"the manifest {self.manifest} does not say"
        if self.weights is not None:
            return f"{self.weights} has no manifest"  # e.g. the public keras-deeplab-v3-plus weights
        return "no --weights, whose manifest would give them"


def network_settings(weights: str | Path | None, backbone: str, classes: int | None,
                     alpha: float | None, input_size: int | None, default_input_size: int) -> NetworkSettings:
    """The supernet's settings: each given value wins, then the weights' manifest, then the
    defaults (21 classes, width 1.0, ``default_input_size``), with where each one came from.

    Raises:
        WeightsError: the manifest is not valid JSON or names another backbone.
    """
    build_options(weights, backbone, classes, alpha)  # the backbone check
    manifest = read_manifest(weights)
    given = {"classes": classes, "alpha": alpha, "input_size": input_size}
    defaults = {"classes": DEFAULT_CLASSES, "alpha": DEFAULT_ALPHA, "input_size": default_input_size}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, value in given.items():
        if value is not None:
            values[key], sources[key] = value, GIVEN
        elif manifest.get(key) is not None:
            values[key], sources[key] = manifest[key], MANIFEST
        else:
            values[key], sources[key] = defaults[key], DEFAULT
    path = manifest_path(weights) if weights is not None and manifest else None
    return NetworkSettings(int(values["classes"]), float(values["alpha"]), int(values["input_size"]),
                           sources, path, None if weights is None else str(weights))
