"""Write the GAP8 project folder of one candidate: everything needed to build and run it.

:func:`write_project` chains the representations: candidate -> GAP8-adapted Keras model
(:mod:`.adapt`) -> fused layer graph (:mod:`.graph`) -> SQ8 constants (:mod:`.quantize`) ->
AutoTiler model (:mod:`.codegen`) -> rendered files (:mod:`.render`), and adds the int8 TFLite / ONNX exports, the
hand-written firmware and a README. Every artefact of the candidate lands in the one folder, so a
failing candidate can be rebuilt by hand::

    <out>/candidate.json           backbone, genome, classes, alpha (read by the estimate target), ...
    <out>/README.md                how to build, run and flash it; the known limits
    <out>/Makefile, common/*.mk    GAP SDK build (ROUTE=autotiler | nntool)
    <out>/main.c, fmas_protocol.h  the hand-written firmware (copied from firmware/)
    <out>/app_config.h, input.h    the generated application glue
    <out>/model/<prefix>Model.c    the AutoTiler model source; model/tensors/*.tensor its constants
    <out>/model/nntool_script      the NNTool script of the TFLite route
    <out>/model/<prefix>.tflite, .onnx   int8 TFLite and ONNX (when representative images are given)
    <out>/model/input.bin          the int8 CHW test input; model/layers.json the layer table
    <out>/model/expected.json      its expected int8 output checksum (the int8 reference)
    <out>/memory_plan.json         the memory plan
    <out>/logs/                    where the gvsoc/board targets keep their logs
    <out>/logs/export.log          what the TFLite converter and tf2onnx printed
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ExportError
from ..resources import firmware_dir
from ..space import Arch
from .adapt import adapt
from .candidate_file import GAP8_INPUT_SIZE, CandidateSpec, candidate_record, write_candidate
from .checksum import fnv1a32
from .codegen import AtModel, lower
from .emulate import copy_runtime
from .graph import Gap8Graph, extract_graph
from .int8_reference import output_int8
from .kernel_table import KERNEL_TABLE, kernel_rows
from .memory import plan_memory
from .naming import check_prefix
from .open_codegen import BACKEND_VERSION, OpenModel, build_open_model, open_context
from .project_context import INPUT_FILE, ROUTES, TENSOR_DIR, border_limit, project_context
from .quantize import QuantizedGraph, quantize_graph, quantize_input, write_tensor
from .render import OPEN_OUTPUTS, render_outputs
from .tile_plan import Budgets
from .tool_log import output_to_log

IO_PLACEMENTS = ("auto", "l2", "l3")
#: Firmware files copied into every project.
FIRMWARE_FILES = ("main.c", "fmas_protocol.h")
log = logging.getLogger(__name__)
#: Calibration images drawn when none are given (seeded, so the project is reproducible).
RANDOM_CALIBRATION = 4
#: The expected output of ``model/input.bin`` (int8 reference): what the live targets check.
EXPECTED_FILE = "model/expected.json"
#: What the converters print (pages of MLIR diagnostics even on success) goes here, not to the terminal.
EXPORT_LOG = "logs/export.log"
#: The open route's tile plan, as the generated code runs it.
TILE_PLAN_FILE = "model/tile_plan.json"


def write_project(arch: Arch, supernet_or_model: Any, out_dir: str | Path, *, classes: int,
                  alpha: float, representative_images: np.ndarray | None = None,
                  prefix: str = "fmas", route: str = "open",
                  input_size: int = GAP8_INPUT_SIZE, io_placement: str = "auto",
                  budgets: Budgets | None = None) -> Path:
    """Write the whole GAP8 project of candidate ``arch`` into ``out_dir``.

    Args:
        arch: the candidate.
        supernet_or_model: a :class:`~fmas_hw.model.supernet.Supernet` or a Keras model holding
            the candidate's weights under keras-deeplab-v3-plus layer names.
        out_dir: project folder (created; existing generated files are overwritten).
        classes: number of classes.
        alpha: MobileNetV2 width multiplier.
        representative_images: float32 (N, S, S, 3) network inputs from the training split: they
            calibrate the quantisation and feed the int8 TFLite export. ``None``: seeded random
            images calibrate, no TFLite/ONNX is written (the README says so) and the nntool route
            is unavailable.
        prefix: model prefix (``<prefix>Model.c``, ``<prefix>CNN()``).
        route: default ``ROUTE`` of the Makefile: ``open`` (the tiled C fmas-hw generates),
            ``autotiler`` or ``nntool`` (both need ``LibTile.a``).
        input_size: adapted input size (384 on GAP8; smaller for tests).
        io_placement: where the graph input/output live: ``l2`` (input embedded in the
            firmware), ``l3`` (HyperRAM, input read from a file), or ``auto``: L2 when both fit
            the L2 left outside the AutoTiler's budget.
        budgets: L1/L2/L3 budgets of the open route's tile plan (default: ``hw/gap8.toml``).

    Returns:
        The project folder.

    Raises:
        ExportError: bad prefix/route/images, a layer the AutoTiler cannot express, a failed
            TFLite/ONNX export, a network the open route's budgets cannot hold.
        TilingError: a layer whose smallest tile exceeds the L1 budget.
        AdaptationError: the candidate cannot be adapted to GAP8.
    """
    check_prefix(prefix)
    if route not in ROUTES:
        raise ExportError(f"route {route!r}: expected one of {', '.join(ROUTES)}")
    if io_placement not in IO_PLACEMENTS:
        raise ExportError(f"io_placement {io_placement!r}: expected one of {', '.join(IO_PLACEMENTS)}")
    if route == "nntool" and representative_images is None:
        raise ExportError("the nntool route reads the int8 TFLite, which needs representative "
                          "images (fmas-hw export --data DIR)")
    images, calibration = _calibration_images(representative_images, input_size)
    out = Path(out_dir)
    source = getattr(supernet_or_model, "model", supernet_or_model)
    adapted = adapt(arch, source, classes, alpha, input_size=input_size)
    graph = extract_graph(adapted.model)
    qgraph = quantize_graph(graph, images)
    at_model = lower(graph, {name: list(q.arrays) for name, q in qgraph.nodes.items()})
    open_model = build_open_model(graph, qgraph, at_model, budgets or Budgets.from_hw())
    for sub in ("model", TENSOR_DIR, "logs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    _write_tensors(out, at_model, qgraph)
    input_q = quantize_input(images[0], qgraph.input_scale)
    write_tensor(out / INPUT_FILE, input_q)
    _write_json(out / EXPECTED_FILE, expected_output(graph, qgraph, input_q))
    with output_to_log(out / EXPORT_LOG):
        exports = _export_models(adapted.model, representative_images, out / "model", prefix)
    record = candidate_record(CandidateSpec(arch, classes, alpha, input_size), prefix, route, adapted.changes)
    write_candidate(out, record)
    candidate = record.to_dict()
    _write_json(out / KERNEL_TABLE, layer_table(at_model, graph, qgraph))
    _write_memory_plan(out, graph)
    exports["memory_plan"] = "memory_plan.json"
    context = project_context(candidate, at_model, qgraph, prefix, route, input_q, calibration,
                              exports, io_placement)
    limit = border_limit(graph)
    if limit:  # only the AutoTiler routes compute these layers wrong
        (log.info if route == "open" else log.warning)("%s", limit)
        context["limits"].append(limit)
    context.update(open_context(open_model, prefix, context["io_in_l3"]))
    render_outputs(out, context, prefix)
    render_outputs(out, context, prefix, OPEN_OUTPUTS)
    (out / "model" / context["open"]["const_file"]).write_bytes(open_model.layout.blob)
    _write_json(out / TILE_PLAN_FILE, tile_plan_record(open_model))
    for name in FIRMWARE_FILES:
        shutil.copyfile(firmware_dir() / name, out / name)
    copy_runtime(out)
    return out


def tile_plan_record(model: OpenModel) -> dict[str, Any]:
    """``model/tile_plan.json``: per kernel its tiles, L1 bytes and DMA bytes; the arenas."""
    lay = model.layout
    return {"backend": BACKEND_VERSION,
            "budgets": {"l1": model.budgets.l1, "l2": model.budgets.l2, "l3": model.budgets.l3},
            "arenas": {"l2": lay.l2_bytes, "l3": lay.l3_bytes, "stage": lay.stage[1],
                       "constants_l3": lay.blob_l3, "constants_l2": len(lay.blob) - lay.blob_l3},
            "spilled": lay.spilled,
            "layers": [{"name": layer.name, "node": t.name, "kind": t.kind, "tiles": t.tiles,
                        "rows": t.rows, "channels": t.channels, "in_channels": t.in_channels,
                        "explicit_pad": t.explicit_pad, "l1": t.l1_bytes, "dma_in": t.dma_in,
                        "dma_out": t.dma_out}
                       for layer, t in zip(model.at_model.layers, model.layer_tiles(), strict=True)]}


# ---- inputs -------------------------------------------------------------------------------------


def expected_output(graph: Gap8Graph, qgraph: QuantizedGraph, input_q: np.ndarray) -> dict[str, Any]:
    """``model/expected.json``: the int8 output of ``model/input.bin`` the firmware should produce.

    Computed by the package's int8 reference of the SQ8 kernels
    (:mod:`fmas_hw.gap8.int8_reference`); the checksum is the firmware's FNV-1a 32 over the
    int8 CHW output tensor, so a measured ``FMAS:CHECKSUM`` can be compared with it.
    """
    output = output_int8(graph, qgraph, input_q)
    data = np.ascontiguousarray(output).tobytes()
    return {"input": INPUT_FILE, "output_shape_chw": list(output.shape),
            "output_bytes": len(data), "output_checksum": fnv1a32(data),
            "reference": "fmas_hw.gap8.int8_reference"}


def _calibration_images(images: np.ndarray | None, size: int) -> tuple[np.ndarray, str]:
    if images is None:
        rng = np.random.default_rng(0)
        random = rng.uniform(-1.0, 1.0, (RANDOM_CALIBRATION, size, size, 3)).astype(np.float32)
        return random, f"{RANDOM_CALIBRATION} seeded random images (no representative images given)"
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[1:] != (size, size, 3) or len(images) == 0:
        raise ExportError(f"representative images have shape {images.shape}: expected "
                          f"(N, {size}, {size}, 3) network inputs, N >= 1")
    return images, f"{len(images)} representative images"


# ---- files ----------------------------------------------------------------------------------------


def _write_tensors(out: Path, model: AtModel, qgraph: QuantizedGraph) -> None:
    for const in model.consts:
        array = qgraph.nodes[const.node].arrays[const.role]
        if array.dtype.itemsize * 8 != const.bits:
            raise ExportError(f"tensor {const.name}: {array.dtype} does not match {const.bits} bits")
        write_tensor(out / TENSOR_DIR / f"{const.name}.tensor", array)


def _export_models(model: Any, images: np.ndarray | None, folder: Path, prefix: str) -> dict[str, str]:
    """The int8 TFLite and ONNX files (``{"tflite": path, "onnx": path}``), or ``{}`` without images."""
    if images is None:
        return {}
    # the TFLite converter and tf2onnx: imported only when exporting
    from . import onnx_export, tflite_export
    tflite, onnx = folder / f"{prefix}.tflite", folder / f"{prefix}.onnx"
    tflite_export.export_tflite_int8(model, np.asarray(images, np.float32), tflite)
    onnx_export.export_onnx(model, onnx)
    return {"tflite": tflite.name, "onnx": onnx.name}


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def _write_memory_plan(out: Path, graph: Gap8Graph) -> None:
    """``memory_plan.json``: the per-layer placement and fit verdict of :mod:`fmas_hw.gap8.memory`."""
    _write_json(out / "memory_plan.json", plan_memory(graph).to_dict())


def layer_table(model: AtModel, graph: Gap8Graph, qgraph: QuantizedGraph) -> list[dict[str, Any]]:
    """One row per AutoTiler kernel: C name, generator and arguments, Keras layers, scales.

    The C names are those the firmware prints in ``FMAS:LAYER name=...``: this table maps the
    measured cycles back to the Keras layers. The rows are :func:`~.kernel_table.kernel_rows`
    (what a light project holds too) plus the kernel's quantisation scales.
    """
    rows = kernel_rows(model, graph)
    for row, layer in zip(rows, model.layers, strict=True):
        q = qgraph.nodes[layer.ir[-1]]
        row.update({"in_scales": list(q.in_scales), "out_scale": q.out_scale})
    return rows
