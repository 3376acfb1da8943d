"""The GAP8 layer graph: a GAP8-adapted Keras model as the fused layers AutoTiler runs.

This is the one representation the memory plan, the cycle model and the code generator share.
It mirrors what NNTool's ``fusions --scale8`` produces: BatchNormalization folded into the
preceding convolution, ReLU/ReLU6 fused into it, explicit zero padding merged into the
convolution's padding, ``Subsample2D`` folded into a strided dilated depthwise convolution,
``Dropout`` removed. Every node keeps the Keras layer names it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AdaptationError

if TYPE_CHECKING:
    import tf_keras

OPS = ("conv", "depthwise", "avgpool", "upsample", "add", "concat", "crop", "act")


@dataclass
class Node:
    """One fused GAP8 layer.

    Attributes:
        name: Keras name of the layer that defines the node (the conv, the pool, ...).
        op: one of :data:`OPS` ('conv' covers standard and pointwise convolutions).
        inputs: producer node names ('input' for the network input).
        in_shape: (H, W, C) of the first input.
        out_shape: (H, W, C) of the output.
        kernel, stride, dilation: (y, x) pairs (pooling window/stride for 'avgpool', factor for
            'upsample' in ``stride``).
        padding: (top, bottom, left, right) zero padding.
        activation: 'none', 'relu' or 'relu6'.
        weights: folded float32 kernel (HWIO; depthwise HW C 1), None for weightless ops.
        bias: folded float32 bias (None for weightless ops).
        interpolation: 'nearest' or 'bilinear' for 'upsample'.
        crop: (top, bottom, left, right) for 'crop'.
        keras_layers: every Keras layer fused into this node.
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    activation: str = "none"
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None
    interpolation: str = "nearest"
    crop: tuple[int, int, int, int] = (0, 0, 0, 0)
    keras_layers: list[str] = field(default_factory=list)

    @property
    def pointwise(self) -> bool:
        return self.op == "conv" and self.kernel == (1, 1)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the node (0 for pure data movement)."""
        oh, ow, oc = self.out_shape
        if self.op == "conv":
            return oh * ow * oc * self.kernel[0] * self.kernel[1] * self.in_shape[2]
        if self.op == "depthwise":
            return oh * ow * oc * self.kernel[0] * self.kernel[1]
        if self.op == "avgpool":
            return oh * ow * oc * self.kernel[0] * self.kernel[1]
        if self.op in ("add", "upsample") and self.interpolation == "bilinear":
            return oh * ow * oc * (4 if self.op == "upsample" else 1)
        return oh * ow * oc if self.op == "add" else 0

    @property
    def weight_count(self) -> int:
        return (0 if self.weights is None else self.weights.size) + (0 if self.bias is None else self.bias.size)


@dataclass
class Gap8Graph:
    """The fused layers of a network in execution order."""

    nodes: list[Node]
    input_shape: tuple[int, int, int]
    output: str

    def __iter__(self):
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    @property
    def macs(self) -> int:
        return sum(n.macs for n in self.nodes)


def _shape(tensor_shape) -> tuple[int, int, int]:
    h, w, c = (int(d) for d in tensor_shape[1:4])
    return h, w, c


def _inbound(layer) -> list[str]:
    inbound = layer._inbound_nodes[0].inbound_layers  # Keras 2 functional-graph internals
    inbound = inbound if isinstance(inbound, list) else [inbound]
    return [lay.name for lay in inbound]


def _keras_layers():
    """``tf_keras.layers``, imported when a Keras model is fused (the shape-only graphs of the
    search spaces never need TensorFlow)."""
    import tf_keras

    return tf_keras.layers


def _consumers(model: tf_keras.Model) -> dict[str, int]:
    L = _keras_layers()
    counts: dict[str, int] = {}
    for layer in model.layers:
        for name in _inbound(layer) if layer._inbound_nodes and not isinstance(layer, L.InputLayer) else []:
            counts[name] = counts.get(name, 0) + 1
    return counts


def tf_same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """(begin, end) zero padding TensorFlow's 'SAME' applies along one axis of length ``size``."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


class _Builder:
    """Walks a Keras functional model once and emits fused nodes."""

    def __init__(self, model: tf_keras.Model):
        self.model = model
        self.consumers = _consumers(model)
        self.nodes: dict[str, Node] = {}
        self.alias: dict[str, str] = {}  # keras layer name -> node name producing its value
        self.pads: dict[str, tuple[str, tuple[int, int, int, int]]] = {}

    def source(self, keras_name: str) -> str:
        return self.alias[keras_name]

    def add(self, layer, node: Node) -> None:
        node.keras_layers.append(layer.name)
        self.nodes[node.name] = node
        self.alias[layer.name] = node.name

    def fuse(self, layer, producer: str) -> Node | None:
        """The producer node if ``layer`` may be fused into it (its only consumer)."""
        node = self.nodes.get(producer)
        if node is None or self.consumers.get(node.keras_layers[-1], 0) != 1:
            return None
        return node


def _conv_node(b: _Builder, layer, depthwise: bool) -> Node:
    src = b.source(_inbound(layer)[0])
    pads = (0, 0, 0, 0)
    if src in b.pads:
        src, pads = b.pads[src]
    in_shape = b.nodes[src].out_shape if src != "input" else _shape(b.model.input_shape)
    k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate
    if layer.padding == "same":
        pads = tf_same_padding(in_shape[0], k[0], s[0], d[0]) + tf_same_padding(in_shape[1], k[1], s[1], d[1])
    kernel = layer.get_weights()[0]
    bias = layer.get_weights()[1] if layer.use_bias else np.zeros(
        kernel.shape[2] if depthwise else kernel.shape[3], np.float32)
    return Node(layer.name, "depthwise" if depthwise else "conv", (src,), in_shape,
                _shape(layer.output_shape), tuple(k), tuple(s), tuple(d), pads,
                weights=kernel.astype(np.float32), bias=bias.astype(np.float32))


def _fold_bn(node: Node, layer) -> None:
    gamma, beta, mean, var = layer.get_weights()
    scale = gamma / np.sqrt(var + layer.epsilon)
    if node.op == "depthwise":
        node.weights = node.weights * scale[None, None, :, None]
    else:
        node.weights = node.weights * scale[None, None, None, :]
    node.bias = (node.bias - mean) * scale + beta


def _relu_kind(layer) -> str:
    return "relu6" if layer.max_value is not None and float(layer.max_value) == 6.0 else "relu"


def _visit(b: _Builder, layer) -> None:  # noqa: C901 - one branch per Keras layer kind
    from ..model.layers import Subsample2D

    L = _keras_layers()
    if isinstance(layer, L.InputLayer):
        b.alias[layer.name] = "input"
        return
    ins = [b.source(n) for n in _inbound(layer)]
    if isinstance(layer, L.ZeroPadding2D):
        (t, bo), (le, r) = layer.padding
        b.pads[layer.name] = (ins[0], (t, bo, le, r))
        b.alias[layer.name] = layer.name
    elif isinstance(layer, L.Conv2D | L.DepthwiseConv2D):
        b.add(layer, _conv_node(b, layer, isinstance(layer, L.DepthwiseConv2D)))
    elif isinstance(layer, L.BatchNormalization):
        node = b.fuse(layer, ins[0])
        if node is None or node.op not in ("conv", "depthwise") or node.activation != "none":
            raise AdaptationError(f"BatchNormalization '{layer.name}' does not follow a convolution")
        _fold_bn(node, layer)
        node.keras_layers.append(layer.name)
        b.alias[layer.name] = node.name
    elif isinstance(layer, L.ReLU) and ins[0] in b.pads:
        # relu(0) == 0: the ReLU commutes with the pending zero padding, which moves past it.
        src, pads = b.pads[ins[0]]
        shape = b.nodes[src].out_shape
        b.add(layer, Node(layer.name, "act", (src,), shape, shape, activation=_relu_kind(layer)))
        b.pads[layer.name] = (layer.name, pads)
        b.alias[layer.name] = layer.name
    elif isinstance(layer, L.ReLU):
        act = _relu_kind(layer)
        node = b.fuse(layer, ins[0])
        if node is not None and node.op in ("conv", "depthwise", "add") and node.activation == "none":
            node.activation = act
            node.keras_layers.append(layer.name)
            b.alias[layer.name] = node.name
        else:
            shape = _shape(layer.output_shape)
            b.add(layer, Node(layer.name, "act", (ins[0],), shape, shape, activation=act))
    elif isinstance(layer, Subsample2D):
        node = b.fuse(layer, ins[0])
        if node is None or node.op != "depthwise" or node.stride != (1, 1):
            raise AdaptationError(f"Subsample2D '{layer.name}' must follow a stride-1 depthwise convolution")
        node.stride = (layer.stride, layer.stride)
        node.out_shape = _shape(layer.output_shape)
        node.keras_layers.append(layer.name)
        b.alias[layer.name] = node.name
    elif isinstance(layer, L.Dropout):
        b.alias[layer.name] = ins[0]
    elif isinstance(layer, L.AveragePooling2D):
        b.add(layer, Node(layer.name, "avgpool", (ins[0],), _shape(layer.input_shape),
                          _shape(layer.output_shape), tuple(layer.pool_size), tuple(layer.strides)))
    elif isinstance(layer, L.UpSampling2D):
        b.add(layer, Node(layer.name, "upsample", (ins[0],), _shape(layer.input_shape),
                          _shape(layer.output_shape), stride=tuple(layer.size),
                          interpolation=layer.interpolation))
    elif isinstance(layer, L.Cropping2D):
        (t, bo), (le, r) = layer.cropping
        b.add(layer, Node(layer.name, "crop", (ins[0],), _shape(layer.input_shape),
                          _shape(layer.output_shape), crop=(t, bo, le, r)))
    elif isinstance(layer, L.Add | L.Concatenate):
        op = "add" if isinstance(layer, L.Add) else "concat"
        b.add(layer, Node(layer.name, op, tuple(ins), _shape(layer.input_shape[0]), _shape(layer.output_shape)))
    else:
        raise AdaptationError(
            f"layer '{layer.name}' ({type(layer).__name__}) cannot run on GAP8"
            + (": apply the GAP8 adaptations first (fmas_hw.gap8.adapt)" if type(layer).__name__ in (
                "GlobalAveragePooling2D", "BilinearResize", "Conv2DTranspose") else ""))


def extract_graph(model: tf_keras.Model) -> Gap8Graph:
    """Fuse a GAP8-adapted Keras model into its :class:`Gap8Graph`.

    Raises:
        AdaptationError: naming the first layer GAP8 cannot run (e.g. a model that was not
            adapted still has GlobalAveragePooling2D / BilinearResize).
    """
    b = _Builder(model)
    for layer in model.layers:
        _visit(b, layer)
    output = b.source(model.layers[-1].name)
    return Gap8Graph(list(b.nodes.values()), _shape(model.input_shape), output)
