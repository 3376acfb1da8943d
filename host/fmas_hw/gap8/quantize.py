"""SQ8 int8 quantisation of the GAP8 layer graph, for the AutoTiler route's constant tensors.

The AutoTiler SQ8 kernels ("scaled quantisation, 8 bit") compute, per output channel ``c``::

    acc = bias32[c] + sum(w8 * x8)                      (int32)
    y8  = clip(round(acc * Mul_scale[c] >> Mul_shift[c]))   then the activation on y8

so a layer needs int8 weights, int32 biases (at the scale ``s_in * s_w[c]``), and the real
multiplier ``s_in * s_w[c] / s_out`` as an unsigned 8-bit ``Mul_scale`` and a shift ``Mul_shift``,
plus a small ``Infos`` byte array (activation bound, input/output rescaling of additions).

Choices (documented because NNTool would make them for the TFLite route):

* weights: symmetric, per output channel, ``s_w[c] = max|w[c]| / 127``;
* activations: symmetric per tensor, ``s = max|x| / 127`` over the calibration images run through
  the fused graph in float (:mod:`fmas_hw.gap8.execute`); scales are computed here rather than taken
  from the int8 TFLite so that the AutoTiler route needs no TFLite (and none of the converter's
  SPACE_TO_BATCH rewrites of dilated convolutions);
* operations that cannot rescale share one scale between input(s) and output: resizes and crops
  (pure data movement), channel concatenations (no kernel: producers write into slices of the
  stacked output), pooling and stand-alone activations (kept simple; their range only shrinks);
* ``Infos`` uses the 13-byte layout of the pinned SDK (``AT_INF_DIM`` = 13 in
  ``CNN_Libraries_SQ8/CNN_Infos_SQ8.h`` of gap_sdk 4.22), given as data in :data:`INFOS_LAYOUT`
  (offset and width of each field; a test compares it with the real header);
* the kernels apply the activation as ``AT_SCALE(act(x), ActScale, ActScaleN)`` and pooling as
  the same rescale, so every node that carries ``Infos`` gets ``ActScale = 1, ActScaleN = 0`` (the
  identity, what NNTool writes when input and output share a scale); an ``ActScale`` of 0 would
  make every ReLU6 convolution and every pooling layer output zeros.

The tensor files are raw little-endian arrays in AutoTiler (CHW) order, what
``ConstInfo(file, 1, 1, bits, 0)`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ExportError
from .graph import Gap8Graph, Node

#: ``(byte offset, width in bytes)`` of the SQ8 ``Infos`` fields the project writes, from the
#: ``AT_INF_*`` defines of ``CNN_Libraries_SQ8/CNN_Infos_SQ8.h`` (gap_sdk 4.22, the pinned SDK;
#: multi-byte fields little-endian). IN1SCALE/N alias BIASN/SCALEN, OUTSCALE aliases OUTZEROPOINT.
INFOS_LAYOUT: dict[str, tuple[int, int]] = {
    "ACTSCALE": (0, 1), "ACTSCALEN": (1, 1), "A0": (2, 2), "B0": (4, 2), "C0": (6, 2),
    "BIASN": (8, 1), "IN1SCALE": (8, 1), "IN1SCALEN": (9, 1), "OUTSCALE": (10, 1),
    "OUTSCALEN": (11, 1), "PRENORM": (12, 1),
}
#: ``AT_INF_DIM``: bytes of one ``Infos`` tensor.
INFOS_DIM = 13
#: Upper bound of ReLU6 in real units.
RELU6 = 6.0
#: Largest shift a ``Mul_shift`` can take (the product stays a 32-bit integer).
MAX_SHIFT = 31
#: Ops whose output keeps the scale of their input(s).
SAME_SCALE_OPS = ("upsample", "crop", "concat", "avgpool", "act")


@dataclass(frozen=True)
class NodeQuant:
    """The quantisation of one graph node.

    Attributes:
        in_scales: scale of each input tensor (real value = scale * int8).
        out_scale: scale of the output tensor.
        arrays: the node's constant tensors by role (``weights``, ``biases``, ``mul_scale``,
            ``mul_shift``, ``infos``), in AutoTiler layout and dtype, in binding order.
    """

    in_scales: tuple[float, ...]
    out_scale: float
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class QuantizedGraph:
    """Scales and constant tensors of a whole :class:`~fmas_hw.gap8.graph.Gap8Graph`."""

    input_scale: float
    nodes: dict[str, NodeQuant]
    output: str

    @property
    def output_scale(self) -> float:
        """Scale of the graph output (real logits = scale * int8 output)."""
        return self.nodes[self.output].out_scale


# ---- calibration ------------------------------------------------------------------------------


def calibrate(graph: Gap8Graph, images: np.ndarray) -> dict[str, float]:
    """Largest absolute value of every tensor of ``graph`` over ``images``.

    Args:
        graph: the fused layer graph.
        images: float32 (N, H, W, 3) network inputs (already scaled like the training inputs).

    Returns:
        ``{"input": max|x|, <node name>: max|output|, ...}``.

    Raises:
        ExportError: the images do not match the graph's input shape.
    """
    from .execute import _run  # the reference executor of one fused node

    images = np.asarray(images, np.float32)
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(graph.input_shape):
        raise ExportError(f"calibration images have shape {images.shape}, expected "
                          f"(N, {', '.join(map(str, graph.input_shape))})")
    last_use = {name: i for i, node in enumerate(graph) for name in node.inputs}
    values = {"input": images}
    ranges = {"input": float(np.max(np.abs(images)))}
    for i, node in enumerate(graph):
        out = np.asarray(_run(node, [values[n] for n in node.inputs]))
        values[node.name] = out
        ranges[node.name] = float(np.max(np.abs(out)))
        for name in node.inputs:  # free what no later node reads (384x384 activations are big)
            if last_use.get(name) == i and name != graph.output:
                values.pop(name, None)
    return ranges


def _tied_groups(graph: Gap8Graph) -> dict[str, str]:
    """Union-find over tensors that must share one scale; returns tensor -> group root."""
    parent: dict[str, str] = {"input": "input", **{n.name: n.name for n in graph}}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for node in graph:
        if node.op in SAME_SCALE_OPS:
            for name in node.inputs:
                parent[find(name)] = find(node.name)
    return {name: find(name) for name in parent}


def activation_scales(graph: Gap8Graph, ranges: dict[str, float]) -> dict[str, float]:
    """Symmetric int8 scale of every tensor, tied tensors sharing the largest range of the group."""
    groups = _tied_groups(graph)
    group_range: dict[str, float] = {}
    for name, root in groups.items():
        group_range[root] = max(group_range.get(root, 0.0), ranges[name])
    return {name: max(group_range[root], 1e-6) / 127.0 for name, root in groups.items()}


# ---- fixed-point helpers --------------------------------------------------------------------


def quantize_multiplier(multiplier: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Split real multipliers into ``scale * 2**-shift`` with ``scale`` in 0..255, ``shift`` >= 0.

    The scale is normalised into 128..255 where the shift range allows, i.e. 8 significant bits.

    Returns:
        ``(scale uint8, shift int8)`` arrays of the shape of ``multiplier``.

    Raises:
        ExportError: a multiplier is negative or too large (above 255) to represent.
    """
    m = np.atleast_1d(np.asarray(multiplier, np.float64))
    if np.any(m < 0) or np.any(m > 255.0):
        raise ExportError(f"output multiplier out of the SQ8 range [0, 255]: {m.min():g}..{m.max():g}")
    safe = np.where(m > 0, m, 1.0)
    shift = np.clip(np.floor(np.log2(255.0 / safe)), 0, MAX_SHIFT).astype(np.int64)
    scale = np.round(safe * np.exp2(shift))
    over = scale > 255  # rounding up past 255: one bit less
    shift = np.where(over, shift - 1, shift)
    scale = np.where(over, np.round(safe * np.exp2(shift)), scale)
    scale = np.where(m > 0, scale, 0)
    return scale.astype(np.uint8), shift.astype(np.int8)


def _infos(**values: int) -> np.ndarray:
    """One ``Infos`` tensor; ``ActScale`` defaults to the identity rescale (1, shift 0)."""
    values = {"ACTSCALE": 1, "ACTSCALEN": 0, **values}
    infos = bytearray(INFOS_DIM)
    for key, value in values.items():
        offset, width = INFOS_LAYOUT[key]
        infos[offset: offset + width] = int(value).to_bytes(width, "little", signed=value < 0)
    return np.frombuffer(bytes(infos), np.int8).copy()  # bytes as the kernels read them


def infos_field(infos: np.ndarray, key: str) -> int:
    """The value of field ``key`` of an ``Infos`` tensor (unsigned, as the kernels read scales)."""
    offset, width = INFOS_LAYOUT[key]
    return int.from_bytes(np.asarray(infos, np.int8).tobytes()[offset: offset + width], "little")


def _act_bound(activation: str, out_scale: float) -> int:
    """``A0``: the ReLU6 upper bound in output units (0 when unused)."""
    return int(min(127, round(RELU6 / out_scale))) if activation == "relu6" else 0


# ---- per-node quantisation ------------------------------------------------------------------


def _required(value: np.ndarray | None, node: Node, what: str) -> np.ndarray:
    if value is None:
        raise ExportError(f"layer '{node.name}' has no {what}: export the graph of a built network, "
                          "not a weightless shape graph")
    return value


def _filter_layout(node: Node) -> np.ndarray:
    """Folded Keras weights in AutoTiler order: conv (Out, In, Fy, Fx), depthwise (C, Fy, Fx)."""
    w = _required(node.weights, node, "weights")
    if node.op == "depthwise":
        if w.shape[3] != 1:
            raise ExportError(f"layer '{node.name}': depth multiplier {w.shape[3]} is not supported "
                              "by KOP_CONV_DW (expected 1)")
        return w[..., 0].transpose(2, 0, 1)
    return w.transpose(3, 2, 0, 1)


def _quantize_conv(node: Node, s_in: float, s_out: float) -> dict[str, np.ndarray]:
    w = _filter_layout(node).astype(np.float64)
    w_max = np.max(np.abs(w.reshape(w.shape[0], -1)), axis=1)
    s_w = np.where(w_max > 0, w_max / 127.0, 1.0)
    shape = (-1,) + (1,) * (w.ndim - 1)
    weights = np.clip(np.round(w / s_w.reshape(shape)), -127, 127).astype(np.int8)
    acc_scale = s_in * s_w
    bias = np.clip(np.round(_required(node.bias, node, "bias") / acc_scale), -(2**31), 2**31 - 1).astype("<i4")
    mul_scale, mul_shift = quantize_multiplier(acc_scale / s_out)
    return {
        "weights": weights, "biases": bias, "mul_scale": mul_scale, "mul_shift": mul_shift,
        "infos": _infos(A0=_act_bound(node.activation, s_out)),
    }


def _quantize_add(node: Node, s_in: tuple[float, ...], s_out: float) -> dict[str, np.ndarray]:
    # MatAdd rescales In1 to In2's scale, adds, then rescales the sum to the output scale.
    (in1_scale,), (in1_shift,) = quantize_multiplier(s_in[0] / s_in[1])
    (out_scale,), (out_shift,) = quantize_multiplier(s_in[1] / s_out)
    return {"infos": _infos(A0=_act_bound(node.activation, s_out), IN1SCALE=int(in1_scale),
                            IN1SCALEN=int(in1_shift), OUTSCALE=int(out_scale),
                            OUTSCALEN=int(out_shift))}


def _quantize_node(node: Node, s_in: tuple[float, ...], s_out: float) -> dict[str, np.ndarray]:
    if node.op in ("conv", "depthwise"):
        return _quantize_conv(node, s_in[0], s_out)
    if node.op == "add":
        if len(s_in) != 2:
            raise ExportError(f"layer '{node.name}': MatAdd takes 2 inputs, got {len(s_in)}")
        return _quantize_add(node, s_in, s_out)
    if node.op in ("avgpool", "act"):  # same scale in and out: identity rescale
        return {"infos": _infos(A0=_act_bound(node.activation, s_out))}
    return {}  # upsample, crop, concat: no constants


def quantize_graph(graph: Gap8Graph, images: np.ndarray) -> QuantizedGraph:
    """Quantise every node of ``graph`` with activation ranges from ``images``.

    Args:
        graph: the fused layer graph (float folded weights).
        images: float32 (N, H, W, 3) calibration inputs.

    Returns:
        The scales and constant tensors of every node.

    Raises:
        ExportError: bad image shape, unsupported depth multiplier, unrepresentable multiplier.
    """
    scales = activation_scales(graph, calibrate(graph, images))
    nodes = {}
    for node in graph:
        s_in = tuple(scales[name] for name in node.inputs)
        nodes[node.name] = NodeQuant(s_in, scales[node.name], _quantize_node(node, s_in, scales[node.name]))
    return QuantizedGraph(scales["input"], nodes, graph.output)


# ---- files ----------------------------------------------------------------------------------


def quantize_input(image: np.ndarray, scale: float) -> np.ndarray:
    """One float (H, W, C) input image as the int8 CHW tensor the graph's ``Input_1`` expects."""
    q = np.clip(np.round(np.asarray(image, np.float64) / scale), -128, 127).astype(np.int8)
    return np.ascontiguousarray(q.transpose(2, 0, 1))


def write_tensor(path: Path, array: np.ndarray) -> int:
    """Write ``array`` as raw little-endian bytes (the ``ConstInfo(..., 1, 1, bits, 0)`` format).

    Returns:
        The number of bytes written.
    """
    data = np.ascontiguousarray(array)
    data = data.astype(data.dtype.newbyteorder("<"), copy=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.tobytes())
    return data.nbytes
