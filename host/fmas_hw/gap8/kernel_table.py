"""``model/layers.json``, the kernel table of a project: AutoTiler kernel name -> graph nodes.

The firmware names every kernel it reports (``FMAS:LAYER name=S12_...``); this table maps those
names back to the graph nodes (``ir``) and Keras layers the kernel computes, which is how measured
cycles are joined with the cycle model's features (:mod:`fmas_hw.targets.project_records`).
:func:`~fmas_hw.gap8.project_writer.write_project` writes it with the quantisation scales of a full
export; :func:`write_light_project` writes a *light* project from the weightless graph alone
(:func:`~fmas_hw.gap8.arch_graph.arch_graph`: no Keras model, no quantisation, milliseconds),
holding ``candidate.json`` and the same table without scales. The kernel names and nodes do not
depend on weights or scales, so both tables agree on them (a test keeps it so). The light project
is what the simulated target measures; it has no firmware and cannot be built with the SDK.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import MeasurementError
from .arch_graph import arch_graph
from .candidate_file import OPEN_ROUTE, CandidateFile, CandidateSpec, write_candidate

if TYPE_CHECKING:
    from .codegen import AtModel
    from .graph import Gap8Graph

KERNEL_TABLE = "model/layers.json"
#: ``candidate.json`` provenance of a light project (what made it, and what it lacks).
LIGHT_PROJECT_NOTE = ("light project: candidate.json and model/layers.json only (no firmware, "
                      "no constants); written for the simulated target, not buildable")
#: The constant tensors each kind of node is lowered with, in binding order (what
#: :func:`fmas_hw.gap8.quantize.quantize_graph` produces for it; a test compares the two).
_CONV_ROLES = ["weights", "biases", "mul_scale", "mul_shift", "infos"]
_ROLES_BY_OP = {"conv": _CONV_ROLES, "depthwise": _CONV_ROLES, "add": ["infos"], "avgpool": ["infos"],
                "act": ["infos"]}


def constant_roles(op: str) -> list[str]:
    """The constant roles the quantisation gives a node of kind ``op`` (none for resizes, crops, concats)."""
    return list(_ROLES_BY_OP.get(op, []))


def kernel_rows(model: AtModel, graph: Gap8Graph) -> list[dict[str, Any]]:
    """One row per AutoTiler kernel: C name, generator and arguments, graph nodes, Keras layers.

    The scale-free part of every row of ``model/layers.json`` (a full export adds the scales).
    """
    nodes = {node.name: node for node in graph}
    return [{"name": layer.name, "generator": layer.generator, "args": layer.args,
             "ctrl": dict(layer.ctrl), "ir": list(layer.ir),
             "keras_layers": [k for name in layer.ir for k in nodes[name].keras_layers],
             "op": nodes[layer.ir[0]].op} for layer in model.layers]


def shape_kernel_table(graph: Gap8Graph) -> list[dict[str, Any]]:
    """The kernel table of a weightless graph (lowered with the roles of :func:`constant_roles`).

    Raises:
        ExportError: a layer the AutoTiler cannot express.
    """
    from .codegen import lower  # imports TensorFlow (through the graph module)

    return kernel_rows(lower(graph, {node.name: constant_roles(node.op) for node in graph}), graph)


def write_light_project(spec: CandidateSpec, out_dir: str | Path) -> Path:
    """Write the light project of ``spec``: ``candidate.json``, ``model/layers.json``, ``logs/``.

    Args:
        spec: the candidate.
        out_dir: the project folder (created).

    Returns:
        The project folder.

    Raises:
        AdaptationError: the candidate cannot run on GAP8.
        ExportError: a layer the AutoTiler cannot express.
    """
    out = Path(out_dir)
    graph = arch_graph(spec.arch, spec.classes, spec.alpha, spec.input_size)
    rows = shape_kernel_table(graph)
    for sub in ("model", "logs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / KERNEL_TABLE).write_text(json.dumps(rows, indent=2) + "\n")
    provenance = {"key": spec.arch.key, "fmas_hw": __version__, "made_by": LIGHT_PROJECT_NOTE}
    write_candidate(out, CandidateFile(spec, OPEN_ROUTE, provenance))
    return out


def read_kernel_table(project: str | Path) -> dict[str, dict[str, Any]]:
    """The kernel table of a project by kernel name.

    Raises:
        MeasurementError: ``model/layers.json`` is missing or unreadable.
    """
    path = Path(project) / KERNEL_TABLE
    try:
        return {row["name"]: row for row in json.loads(path.read_text())}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MeasurementError(f"{path} is missing or unreadable ({exc}): regenerate the project with "
                               "`fmas-hw export`") from exc
