"""The manifest written next to a supernet's weights (``<weights>.json``).

It records how the supernet was built and trained — backbone, width, classes, input size, the
exact command, data-set seed and the final validation mIoU — so every command that loads the
weights can build the matching network without the user repeating the options.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import WeightsError


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
    return (int(classes if classes is not None else manifest.get("classes", 21)),
            float(alpha if alpha is not None else manifest.get("alpha", 1.0)))
