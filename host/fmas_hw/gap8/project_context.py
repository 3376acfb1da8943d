"""What the project templates are rendered with: budgets and clocks from ``hw/gap8.toml``, the
int8 input and output, the files of the project and the limits its README states.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..hw import load as load_hw
from .bands import reads_padding_on_both_sides
from .codegen import AtModel
from .graph import Gap8Graph
from .naming import c_comment, c_string
from .quantize import QuantizedGraph
from .render import model_context

#: Code-generation routes: ``open`` (fmas-hw's own tiler, no licensed part; the default), and the
#: two that need the AutoTiler library ``LibTile.a``.
ROUTES = ("open", "autotiler", "nntool")
#: Where the constants of the AutoTiler route lie, one raw file each.
TENSOR_DIR = "model/tensors"
#: The int8 CHW test input. With I/O in L3 the firmware reads it over semihosting, or, in the
#: flashed build, from the flash's readfs partition, where it has its base name.
INPUT_FILE = "model/input.bin"
#: L2 bounce buffer of the L3 input/output transfers (an application choice, not a chip fact).
IO_CHUNK_BYTES = 4096
#: The README's input/output placement, by "I/O in L3".
IO_PLACEMENT_NOTES = {True: "L3 HyperRAM (input read from `model/input.bin`: over semihosting, or "
                            "from the flash with `FMAS_INPUT=flash`)",
                      False: "L2 (input embedded in `input.h`)"}


def hw_settings() -> dict[str, Any]:
    """AutoTiler budgets, clocks and stacks from ``hw/gap8.toml``."""
    hw = load_hw()
    chip, mem = hw["chip"], hw["memory"]
    slaves = int(chip["cluster_cores"]) - 1
    stacks = {"master": mem["cluster_stack_bytes"], "slave": mem["cluster_slave_stack_bytes"]}
    l1 = mem["at_l1_budget_bytes"] - (stacks["master"] + slaves * stacks["slave"])
    return {
        "memory": {"l1": l1, "l1_total": mem["at_l1_budget_bytes"], "slave_stacks": slaves,
                   "l2": mem["at_l2_budget_bytes"], "l3": mem["at_l3_budget_bytes"],
                   "l3_flash": mem["l3_flash_bytes"]},
        "clocks": {"fc_hz": chip["fc_freq_hz"], "cl_hz": chip["cluster_freq_hz"]},
        "cl_stacks": stacks,
        # L2 outside the AutoTiler's arena holds code, stacks and the I/O: give the I/O half of it.
        "io_l2_limit": (mem["l2_bytes"] - mem["at_l2_budget_bytes"]) // 2,
    }


def io_tensor(shape: tuple[int, int, int], scale: float) -> dict[str, Any]:
    """An int8 graph input/output as the templates write it: sizes, ``HxWxC`` and its scale."""
    height, width, channels = shape
    return {"height": height, "width": width, "channels": channels,
            "bytes": height * width * channels, "hwc": f"{height}x{width}x{channels}",
            "scale": f"{scale:.6g}"}


def _input_rows(data: np.ndarray, per_row: int = 16) -> list[str]:
    flat = data.reshape(-1).astype(int)
    return [", ".join(str(v) for v in flat[i: i + per_row]) for i in range(0, len(flat), per_row)]


def _files(prefix: str, exports: dict[str, str], io_in_l3: bool) -> list[tuple[str, str]]:
    files = [
        ("candidate.json", "the candidate: backbone, genome, classes, alpha, input size, key"),
        ("Makefile", "GAP SDK build, `ROUTE=autotiler` or `ROUTE=nntool`"),
        ("common/model_decl.mk, common/model_rules.mk", "model build variables and rules"),
        ("main.c, fmas_protocol.h", "the hand-written firmware and its line protocol"),
        ("app_config.h", "generated glue: model prefix, I/O sizes and placement, clocks, stacks"),
        (f"{prefix}.h", "project header the generated kernels include (declares the flash base)"),
        ("input.h", "the int8 test input" + (" (not embedded: input/output in L3)" if io_in_l3 else "")),
        (f"model/{prefix}Model.c", "fmas-hw's AutoTiler model (autotiler route)"),
        ("model/tensors/", "its int8/int32 constants, raw little-endian, CHW"),
        (INPUT_FILE, "the int8 CHW test input"),
        ("model/expected.json", "its expected output checksum (host int8 reference of the SQ8 "
                                "kernels), checked by the gvsoc/board targets"),
        ("model/layers.json", "kernel names -> generator arguments, Keras layers, scales"),
        ("model/nntool_script", "NNTool script (nntool route)"),
        ("logs/", "build and run logs of the gvsoc/board targets; export.log: what the TFLite/ONNX converters printed"),
    ]
    described = {"tflite": "int8 TFLite (nntool route)", "onnx": "float ONNX, for other tools (not an NNTool input)",
                 "memory_plan": "per-layer memory, L1/L2/L3 placement and the fits verdict"}
    folder = {"tflite": "model/", "onnx": "model/", "memory_plan": ""}
    return files + [(f"{folder[k]}{name}", described[k]) for k, name in exports.items()]


def border_limit(graph: Gap8Graph) -> str | None:
    """The README line (and export warning) naming the convolutions the SQ8 kernels get wrong."""
    names = [n.name for n in graph if reads_padding_on_both_sides(n)]
    if not names:
        return None
    return (f"Layers {', '.join(names)}: a dilated filter wider than its feature map reads zero "
            "padding on both sides, which the SDK's SQ8 convolution border code does not support. "
            "The open route (fmas-hw's tiled C) zero-pads these layers' tiles and computes them "
            "right; the AutoTiler and NNTool routes compute wrong values there (cycles are still "
            "representative) and their output checksum will not match `model/expected.json`. It "
            "happens at small input sizes only (none of the MobileNetV2 candidates at 384 px).")


def _limits(model: AtModel, io_in_l3: bool) -> list[str]:
    limits = [
        "Quantisation of the autotiler route is fmas-hw's own (symmetric per-channel weights, "
        "max-abs activation scales); the nntool route uses the TFLite's. The output checksum "
        "is reproducible between runs and between GVSoC and a board, not across routes: "
        "`model/expected.json` holds the autotiler route's; "
        "with `ROUTE=nntool` the same input bytes meet the TFLite's input quantisation (fine "
        "for cycles, not for accuracy).",
        "The SQ8 `Infos` byte layout is that of the pinned SDK (13 bytes, gap_sdk 4.22 "
        "`CNN_Infos_SQ8.h`); other SDK versions may lay it out differently.",
    ]
    if io_in_l3:
        limits.append("The input is read over semihosting by default: this works on GVSoC and "
                      "on a board started through OpenOCD (`make run`). A board that boots from "
                      "flash alone needs the flashed build, `FMAS_INPUT=flash` (what `fmas-hw "
                      "flash` makes), which packs `model/input.bin` into the flash's readfs "
                      "partition with the constants and reads it from there.")
    if any(len(layer.ir) > 1 for layer in model.layers):
        limits.append("The SDK has no crop generator: the crop after a rounded-up upsampling is "
                      "merged into the resize, which writes the cropped size directly (its "
                      "sampling grid differs slightly from upsample-then-crop).")
    if any("BILINEAR" in " ".join(layer.args) for layer in model.layers):
        limits.append("KOP_BILINEAR_RESIZE samples on a slightly different grid than Keras "
                      "UpSampling2D(bilinear): logits differ by a fraction of a pixel.")
    return limits


def project_context(candidate: dict[str, Any], model: AtModel, qgraph: QuantizedGraph, prefix: str,
                    route: str, input_q: np.ndarray, calibration: str,
                    exports: dict[str, str], io_placement: str = "auto") -> dict[str, Any]:
    """The context shared by every template (each uses the part it needs)."""
    hw = hw_settings()
    graph_in = io_tensor(model.input_shape, qgraph.input_scale)
    graph_out = io_tensor(model.output_shape, qgraph.output_scale)
    io_bytes = graph_in["bytes"] + graph_out["bytes"]
    io_in_l3 = io_placement == "l3" or (io_placement == "auto" and io_bytes > hw["io_l2_limit"])
    io_location = "AT_MEM_L3_HRAM" if io_in_l3 else "AT_MEM_L2"
    return {
        **model_context(model, prefix, hw["memory"], io_location, TENSOR_DIR),
        **hw,
        "candidate": {k: c_comment(str(v)) for k, v in candidate.items()},
        "fmas_version": __version__,
        "tensor_dir": TENSOR_DIR,
        "route": route,
        "default_marks": {name: " (default)" if name == route else "" for name in ROUTES},
        "model_name": c_string(candidate["key"]),
        "header_guard": f"FMAS_{prefix.upper()}_H",
        "input": graph_in, "output": graph_out, "io_bytes": io_bytes,
        "io_in_l3": io_in_l3, "io_in_l3_flag": int(io_in_l3), "io_chunk_bytes": IO_CHUNK_BYTES,
        "io_placement": IO_PLACEMENT_NOTES[io_in_l3],
        "input_file": INPUT_FILE, "input_flash_name": Path(INPUT_FILE).name,
        "input_rows": [] if io_in_l3 else _input_rows(input_q),
        "calibration": calibration,
        "tflite": "tflite" in exports,
        "files": _files(prefix, exports, io_in_l3),
        "limits": _limits(model, io_in_l3),
    }

