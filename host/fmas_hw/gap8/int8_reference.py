"""The project's int8 reference: each layer's int8 output from int8 inputs and the project's constants.

It follows the arithmetic of the SQ8 basic kernels of the pinned SDK (``CNN_Libraries_SQ8``), so
that its output is what the AutoTiler-generated code computes on the chip:

* convolutions: an int32 accumulator ``bias + sum(w * x)`` (zero padding), reduced per channel
  with ``AT_SCALE(acc, Scale[c], ScaleN[c])`` (``KerReduct_CC_*``), then the activation
  (ReLU: ``max(0, y)``, ReLU6: ``clip(y, 0, A0)``) rescaled by ``ActScale``/``ActScaleN`` and
  clipped to int8;
* MatAdd: ``AT_SCALE(AT_SCALE(In1, In1Scale, In1ScaleN) + In2, OutScale, OutScaleN)``, a zero scale
  meaning "no rescale" as in ``KerMatAdd_*_SQ8``;
* average pooling: ``roundnorm(sum * (65536 // (Fw * Fh)), 16)`` then the activation rescale;
* resizes: the index / weight arithmetic of ``KerResize*Signed`` (``Generators/BilinearResizes``);
* crops and channel concatenations move data only.

``AT_SCALE(x, s, n)`` is ``roundnorm(x * s, n) = (x * s + 2**(n - 1)) >> n`` (arithmetic shift).
Values are kept in int64: the reference does not model int32 wrap-around of the kernels' products.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import ExportError
from .graph import Gap8Graph, Node
from .quantize import INFOS_LAYOUT, QuantizedGraph, infos_field


def roundnorm(x: np.ndarray, shift) -> np.ndarray:
    """``gap_roundnorm_reg``: ``(x + 2**(shift - 1)) >> shift``, no rounding for a shift of 0."""
    x = np.asarray(x, np.int64)
    shift = np.asarray(shift, np.int64)
    half = np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0)
    return np.right_shift(x + half, shift)


def at_scale(x: np.ndarray, scale, shift) -> np.ndarray:
    """``AT_SCALE``: ``roundnorm(x * scale, shift)``."""
    return roundnorm(np.asarray(x, np.int64) * np.asarray(scale, np.int64), shift)


def _clip8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -128, 127).astype(np.int8)


def activate(y: np.ndarray, activation: str, infos: np.ndarray | None) -> np.ndarray:
    """The ``ACT_SWITCH`` of the kernels on an int accumulator, then the int8 clip."""
    if activation == "none" or infos is None:
        return _clip8(y)
    if activation == "relu":
        y = np.maximum(y, 0)
    elif activation == "relu6":
        y = np.clip(y, 0, int(infos[INFOS_LAYOUT["A0"][0]]))  # A0: the SQ8 kernels read a signed char
    else:
        raise ExportError(f"no int8 reference for activation '{activation}'")
    return _clip8(at_scale(y, infos_field(infos, "ACTSCALE"), infos_field(infos, "ACTSCALEN")))


def _hwc(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).transpose(1, 2, 0)[None].astype(np.float64)


def _accumulate(node: Node, arrays: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """``bias + sum(w * x)`` of a convolution, int64 (C, H, W); float64 sums of int8 are exact."""
    from .execute import _run  # TensorFlow: imported where used

    w = arrays["weights"].astype(np.float64)
    hwio = w.transpose(2, 3, 1, 0) if node.op == "conv" else w.transpose(1, 2, 0)[..., None]
    plain = replace(node, weights=hwio, bias=np.zeros(hwio.shape[-1] if node.op == "conv"
                                                      else hwio.shape[2]), activation="none")
    acc = np.asarray(_run(plain, [_hwc(x)]))[0].transpose(2, 0, 1)
    return np.rint(acc).astype(np.int64) + arrays["biases"].astype(np.int64)[:, None, None]


def conv(node: Node, arrays: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """A standard, pointwise or depthwise convolution with its reduction and activation."""
    acc = _accumulate(node, arrays, x)
    y = at_scale(acc, arrays["mul_scale"].astype(np.int64)[:, None, None],
                 arrays["mul_shift"].astype(np.int64)[:, None, None])
    return activate(y, node.activation, arrays["infos"])


def matadd(node: Node, infos: np.ndarray, in1: np.ndarray, in2: np.ndarray) -> np.ndarray:
    """``KerMatAdd*_SQ8``: In1 rescaled to In2's scale, added, the sum rescaled."""
    in1_scale, out_scale = infos_field(infos, "IN1SCALE"), infos_field(infos, "OUTSCALE")
    y = np.asarray(in1, np.int64)
    if in1_scale:
        y = at_scale(y, in1_scale, infos_field(infos, "IN1SCALEN"))
    y = y + np.asarray(in2, np.int64)
    if out_scale:
        y = at_scale(y, out_scale, infos_field(infos, "OUTSCALEN"))
    return activate(y, node.activation, infos)


def avgpool(node: Node, infos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``KerParPoolNxMStrideSxSy_SQ8`` (average, no padding): sum times 65536/(Fw*Fh), rounded."""
    (fy, fx), (sy, sx) = node.kernel, node.stride
    c, h, w = x.shape
    ho, wo = (h - fy) // sy + 1, (w - fx) // sx + 1
    total = np.zeros((c, ho, wo), np.int64)
    for i in range(fy):
        for j in range(fx):
            total += x[:, i: i + sy * (ho - 1) + 1: sy, j: j + sx * (wo - 1) + 1: sx]
    return activate(roundnorm(total * ((1 << 16) // (fx * fy)), 16), node.activation, infos)


def _nearest_index(size_in: int, size_out: int) -> np.ndarray:
    step = ((size_in - 1) << 16) // (size_out - 1) if size_out > 1 else 0
    return roundnorm(np.arange(size_out, dtype=np.int64) * step, 16)


def resize(x: np.ndarray, out_hw: tuple[int, int], interpolation: str) -> np.ndarray:
    """``KerResizeNearestNeighborSigned`` / ``KerResizeBilinearSigned`` on a CHW int8 tensor."""
    c, h, w = x.shape
    ho, wo = out_hw
    x = np.asarray(x, np.int64)
    if interpolation == "nearest":
        return x[:, _nearest_index(h, ho)][:, :, _nearest_index(w, wo)].astype(np.int8)
    if h < 2 or w < 2:
        raise ExportError(f"bilinear resize of a {h}x{w} input: KerResizeBilinearSigned reads a "
                          "second row/column that does not exist; use nearest or a 2x2+ input")
    hc = np.arange(ho, dtype=np.int64) * (((h - 1) << 16) // ho)
    wc = np.arange(wo, dtype=np.int64) * (((w - 1) << 16) // wo)
    oy, ox = hc >> 16, wc >> 16
    hc2, wc2 = ((hc >> 9) & 127)[:, None], ((wc >> 9) & 127)[None, :]
    p1, p2 = x[:, oy][:, :, ox], x[:, oy + 1][:, :, ox]
    p3, p4 = x[:, oy][:, :, ox + 1], x[:, oy + 1][:, :, ox + 1]
    out = ((p1 * (128 - hc2) + p2 * hc2) * (128 - wc2) + (p3 * (128 - hc2) + p4 * hc2) * wc2) >> 14
    return out.astype(np.int8)  # stored into a signed char, as the kernel does


def merged_crops(graph: Gap8Graph) -> dict[str, Node]:
    """Upsample node name -> the crop that follows it, as the lowering merges them.

    The AutoTiler has no crop: the code generator resizes straight to the cropped size
    (:mod:`fmas_hw.gap8.codegen`), which is not the same as resizing then cropping.
    """
    return {node.inputs[0]: node for node in graph
            if node.op == "crop" and node.inputs[0] != "input"
            and graph.node(node.inputs[0]).op == "upsample"}


def run_node(node: Node, arrays: dict[str, np.ndarray], xs: list[np.ndarray],
             out_shape: tuple[int, int, int] | None = None) -> np.ndarray:
    """The int8 CHW output of one fused node from its int8 CHW inputs.

    ``out_shape`` (H, W, C) overrides an upsampling's output size (a merged crop).
    """
    if node.op in ("conv", "depthwise"):
        return conv(node, arrays, xs[0])
    if node.op == "add":
        return matadd(node, arrays["infos"], xs[0], xs[1])
    if node.op == "avgpool":
        return avgpool(node, arrays["infos"], xs[0])
    if node.op == "act":
        return activate(np.asarray(xs[0], np.int64), node.activation, arrays["infos"])
    if node.op == "upsample":
        return resize(xs[0], (out_shape or node.out_shape)[:2], node.interpolation)
    if node.op == "crop":
        top, bottom, left, right = node.crop
        x = xs[0]
        return np.ascontiguousarray(x[:, top: x.shape[1] - bottom, left: x.shape[2] - right])
    if node.op == "concat":
        return np.concatenate(xs, axis=0)
    raise ExportError(f"layer '{node.name}': no int8 reference for op '{node.op}'")


def run_int8(graph: Gap8Graph, qgraph: QuantizedGraph, x: np.ndarray,
             keep: bool = False) -> dict[str, np.ndarray]:
    """Run the whole graph in int8 on one quantised CHW input (``quantize_input``'s output).

    Args:
        graph: the fused layer graph.
        qgraph: its quantisation (the project's constants).
        x: int8 (3, H, W) input.
        keep: keep every node's output (per-layer comparisons); else only the graph output.

    Returns:
        ``{node name: int8 CHW output}`` (with ``"input"`` when ``keep``).
    """
    x = np.asarray(x)
    if x.dtype != np.int8 or x.shape != (graph.input_shape[2], *graph.input_shape[:2]):
        raise ExportError(f"int8 reference input is {x.dtype} {x.shape}, expected int8 "
                          f"({graph.input_shape[2]}, {graph.input_shape[0]}, {graph.input_shape[1]})"
                          ": quantise the image with quantize_input first")
    last_use = {name: i for i, node in enumerate(graph) for name in node.inputs}
    merged = merged_crops(graph)
    values = {"input": x}
    for i, node in enumerate(graph):
        if node.op == "crop" and node.inputs[0] in merged:  # done by the resize before it
            values[node.name] = values[node.inputs[0]]
        else:
            crop = merged.get(node.name)
            values[node.name] = run_node(node, qgraph.nodes[node.name].arrays,
                                         [values[n] for n in node.inputs],
                                         crop.out_shape if crop else None)
        for name in node.inputs if not keep else ():
            if last_use.get(name) == i and name != graph.output:
                values.pop(name, None)
    return values if keep else {graph.output: values[graph.output]}


def output_int8(graph: Gap8Graph, qgraph: QuantizedGraph, x: np.ndarray) -> np.ndarray:
    """The int8 CHW graph output for one int8 CHW input."""
    return run_int8(graph, qgraph, x)[graph.output]
