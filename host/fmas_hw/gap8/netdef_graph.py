"""The GAP8 layer graph of a candidate, interpreted from :mod:`fmas_hw.model.netdef` without Keras.

The memory plan and the cycle model need only shapes and layer parameters, not weights. Building
the GAP8-adapted Keras network and fusing it (:func:`~fmas_hw.gap8.graph.extract_graph`) costs
seconds; interpreting the network definition costs milliseconds (docs/design.md, "The layer graph
without Keras") and gives the same :class:`~fmas_hw.gap8.graph.Gap8Graph`, node for node and name for name (tests check it on many
genomes of both search spaces). Weights are zero-stride placeholders with the right shapes.

It runs in three steps, each mirroring what Keras and :func:`extract_graph` do:

1. **trace** — :class:`_TraceOps` runs the network (``gap8=True``) and records the layers the
   adapted Keras builder creates, by name, with their inputs and output shapes. The two ops the
   adaptations replace are lowered as :mod:`fmas_hw.model.blocks` lowers them: a global average
   pooling into an ``AveragePooling2D`` chain (``average_pool_chain``), a resize into an integer
   ``UpSampling2D``, cropped when the ratio is not an integer and split in two when it broadcasts a
   1x1 map (``upsample_to``, ``broadcast_upsampling``);
2. **order** — :func:`_keras_order` sorts the layers as a Keras functional model lists them
   (decreasing depth, ties in depth-first order from the output), which is the node order of the
   graph and so the order the memory plan's liveness follows;
3. **fuse** — :class:`_Fuser` applies the fusions of :mod:`fmas_hw.gap8.graph`: BatchNormalization
   into its convolution, a ReLU into its only producer, explicit padding into the next
   convolution, ``Subsample2D`` into a strided dilated depthwise convolution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from math import ceil

import numpy as np

from ..model import netdef
from ..model.blocks import pool_factors
from ..space import Arch
from .graph import Gap8Graph, Node, tf_same_padding

Shape = tuple[int, int, int]


def _placeholder(shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.float32(0), shape)


@dataclass(frozen=True)
class _Tensor:
    """The output of a recorded layer: what the network definition passes between ops."""

    layer: str
    shape: Shape


@dataclass
class _Layer:
    """One layer of the adapted Keras network.

    Attributes:
        name, kind, inputs, shape: Keras name, layer kind, producer layer names, output shape.
        node: the node a node-defining layer becomes (inputs and padding resolved when fusing).
        same: a convolution with 'same' padding.
        amount: zero padding of a ``pad``; stride of a ``subsample``.
        activation: 'relu' or 'relu6' for a ``relu``.
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    shape: Shape
    node: Node | None = None
    same: bool = True
    amount: int = 0
    activation: str = "relu"


def _out(n: int, effective: int, stride: int, same: bool) -> int:
    return ceil(n / stride) if same else (n - effective) // stride + 1


class _TraceOps:
    """:class:`netdef.Ops` recording the layers of the GAP8-adapted Keras network."""

    def __init__(self, chosen: dict[str, int]):
        self.chosen = chosen
        self.layers: list[_Layer] = []

    def _record(self, name: str, kind: str, inputs: Sequence[_Tensor], shape: Shape, **kw) -> _Tensor:
        self.layers.append(_Layer(name, kind, tuple(t.layer for t in inputs), shape, **kw))
        return _Tensor(name, shape)

    def _node(self, name: str, op: str, inputs: Sequence[_Tensor], shape: Shape, **kw) -> _Tensor:
        node = Node(name, op, (), inputs[0].shape, shape, **kw)
        return self._record(name, op, inputs, shape, node=node)

    def _batch_norm(self, x: _Tensor, conv: str) -> _Tensor:
        return self._record(f"{conv}_BN", "bn", [x], x.shape)

    def conv(self, x, name, filters, kernel=1, stride=1, padding="same", norm=True, bias=False):
        (h, w, c), same = x.shape, padding == "same"
        out = (_out(h, kernel, stride, same), _out(w, kernel, stride, same), filters)
        node = Node(name, "conv", (), x.shape, out, (kernel, kernel), (stride, stride),
                    weights=_placeholder((kernel, kernel, c, filters)), bias=_placeholder((filters,)))
        y = self._record(name, "conv", [x], out, node=node, same=same)
        return self._batch_norm(y, name) if norm else y

    def depthwise(self, x, name, stride=1, rate=1, padding="same"):
        # As the Keras builder: Keras refuses stride > 1 with rate > 1, so it runs the dilated
        # depthwise densely and subsamples (Subsample2D), which the fusion folds back.
        (h, w, c), same = x.shape, padding == "same"
        dense, effective = (stride if rate == 1 else 1), 2 * rate + 1
        out = (_out(h, effective, dense, same), _out(w, effective, dense, same), c)
        node = Node(name, "depthwise", (), x.shape, out, (3, 3), (dense, dense), (rate, rate),
                    weights=_placeholder((3, 3, c, 1)), bias=_placeholder((c,)))
        y = self._record(name, "depthwise", [x], out, node=node, same=same)
        if dense != stride:
            sub = (ceil(out[0] / stride), ceil(out[1] / stride), c)
            y = self._record(name.removesuffix("depthwise") + "subsample", "subsample", [y], sub, amount=stride)
        return self._batch_norm(y, name)

    def relu(self, x, name, cap=None):
        return self._record(name, "relu", [x], x.shape, activation="relu6" if cap == 6.0 else "relu")

    def pad(self, x, name, amount):
        h, w, c = x.shape
        return self._record(name, "pad", [x], (h + 2 * amount, w + 2 * amount, c), amount=amount)

    def add(self, a, b, name):
        return self._node(name, "add", [a, b], a.shape)

    def concat(self, xs, name):
        h, w, _ = xs[0].shape
        return self._node(name, "concat", xs, (h, w, sum(x.shape[2] for x in xs)))

    def global_pool(self, x, name):
        """An ``AveragePooling2D`` chain (GAP8 adaptation 4, ``blocks.average_pool_chain``)."""
        fh, fw = pool_factors(x.shape[0]), pool_factors(x.shape[1])
        steps = max(len(fh), len(fw))
        fh, fw = fh + [1] * (steps - len(fh)), fw + [1] * (steps - len(fw))
        for i, (a, b) in enumerate(zip(fh, fw, strict=True)):
            h, w, c = x.shape
            x = self._node(f"{name}{i}", "avgpool", [x], (h // a, w // b, c), kernel=(a, b), stride=(a, b))
        return x

    def resize(self, x, name, size):
        """An integer-factor upsampling, cropped to ``size`` (GAP8 adaptation 3, ``blocks.upsample_to``)."""
        (h, w, c), (oh, ow) = x.shape, size
        if (h, w) == (1, 1):
            return self._broadcast(x, name, (oh, ow))
        fh, fw = ceil(oh / h), ceil(ow / w)
        x = self._node(name, "upsample", [x], (fh * h, fw * w, c), stride=(fh, fw), interpolation="bilinear")
        if (fh * h, fw * w) != (oh, ow):
            x = self._node(f"{name}_crop", "crop", [x], (oh, ow, c), crop=(0, fh * h - oh, 0, fw * w - ow))
        return x

    def _broadcast(self, x: _Tensor, name: str, size: tuple[int, int]) -> _Tensor:
        """A 1x1 map to ``size``: 1xW then Hx1 when both grow (adaptation 5, ``blocks.broadcast_upsampling``)."""
        (oh, ow), c = size, x.shape[2]
        if oh > 1 and ow > 1:
            x = self._node(f"{name}_w", "upsample", [x], (1, ow, c), stride=(1, ow))
            ow = 1
        return self._node(name, "upsample", [x], (size[0], size[1], c), stride=(oh, ow))

    def size_of(self, x):
        return x.shape[:2]

    def channels(self, x) -> int:
        return x.shape[2]

    def choose(self, key: str, x, variants: Sequence, fn: Callable):
        return fn(x, variants[self.chosen[key]])


def _keras_order(layers: list[_Layer]) -> list[_Layer]:
    """The layers as ``tf_keras.Model.layers`` lists them (Keras ``functional._map_graph_network``).

    Depth is the longest path to the output layer (the last recorded); deeper layers come first,
    ties in the order a depth-first walk from the output, inputs in order, first reaches them.
    """
    by_name = {layer.name: layer for layer in layers}
    depth = {layers[-1].name: 0}
    for layer in reversed(layers):  # recorded after every input: a topological order
        for src in layer.inputs:
            depth[src] = max(depth.get(src, 0), depth[layer.name] + 1)
    first_seen: dict[str, int] = {}
    stack = [layers[-1].name]
    while stack:
        name = stack.pop()
        if name in first_seen or name not in by_name:
            continue
        first_seen[name] = len(first_seen)
        stack.extend(reversed(by_name[name].inputs))
    return sorted(layers, key=lambda layer: (-depth[layer.name], first_seen[layer.name]))


class _Fuser:
    """The fusions of :func:`~fmas_hw.gap8.graph.extract_graph`, over recorded layers."""

    def __init__(self, layers: list[_Layer], input_shape: Shape):
        self.input_shape = input_shape
        self.consumers: dict[str, int] = {}
        for layer in layers:
            for src in layer.inputs:
                self.consumers[src] = self.consumers.get(src, 0) + 1
        self.nodes: dict[str, Node] = {}
        self.alias = {"input": "input"}  # layer name -> node producing its value
        self.pads: dict[str, tuple[str, int]] = {}  # pending padding: layer -> (node, amount)

    def _add(self, layer: _Layer, node: Node) -> None:
        node.keras_layers.append(layer.name)
        self.nodes[node.name] = node
        self.alias[layer.name] = node.name

    def _into(self, layer: _Layer, node: Node) -> None:
        node.keras_layers.append(layer.name)
        self.alias[layer.name] = node.name

    def _fusable(self, producer: str) -> Node | None:
        """The producer node when a ReLU may join it: the ReLU is its only consumer and it has no
        activation yet (else the ReLU is a node of its own)."""
        node = self.nodes.get(producer)
        if node is None or self.consumers.get(node.keras_layers[-1], 0) != 1:
            return None
        return node if node.op in ("conv", "depthwise", "add") and node.activation == "none" else None

    def visit(self, layer: _Layer) -> None:
        src = self.alias[layer.inputs[0]]
        if layer.kind == "pad":
            self.pads[layer.name] = (src, layer.amount)
            self.alias[layer.name] = layer.name
        elif layer.kind in ("conv", "depthwise"):
            self._add(layer, self._conv(layer, src))
        elif layer.kind in ("bn", "subsample"):
            node = self.nodes[src]
            if layer.kind == "subsample":
                node.stride, node.out_shape = (layer.amount, layer.amount), layer.shape
            self._into(layer, node)
        elif layer.kind == "relu":
            self._relu(layer, src)
        else:
            assert layer.node is not None  # every other kind defines a node
            self._add(layer, replace(layer.node, inputs=tuple(self.alias[n] for n in layer.inputs),
                                     keras_layers=[]))

    def _conv(self, layer: _Layer, src: str) -> Node:
        assert layer.node is not None
        pads = (0, 0, 0, 0)
        if src in self.pads:
            src, amount = self.pads[src]
            pads = (amount,) * 4
        in_shape = self.nodes[src].out_shape if src != "input" else self.input_shape
        k, s, d = layer.node.kernel[0], layer.node.stride[0], layer.node.dilation[0]
        if layer.same:
            pads = tf_same_padding(in_shape[0], k, s, d) + tf_same_padding(in_shape[1], k, s, d)
        return replace(layer.node, inputs=(src,), in_shape=in_shape, padding=pads, keras_layers=[])

    def _relu(self, layer: _Layer, src: str) -> None:
        if src in self.pads:
            # relu(0) == 0: the ReLU commutes with the pending zero padding, which moves past it.
            producer, amount = self.pads[src]
            shape = self.nodes[producer].out_shape
            self._add(layer, Node(layer.name, "act", (producer,), shape, shape, activation=layer.activation))
            self.pads[layer.name] = (layer.name, amount)
            self.alias[layer.name] = layer.name
            return
        node = self._fusable(src)
        if node is not None:
            node.activation = layer.activation
            self._into(layer, node)
        else:
            self._add(layer, Node(layer.name, "act", (src,), layer.shape, layer.shape, activation=layer.activation))


def netdef_graph(arch: Arch, classes: int, alpha: float, input_size: int) -> Gap8Graph:
    """The fused GAP8 graph of the GAP8-adapted candidate ``arch`` (shapes only, no Keras).

    Args:
        arch: a candidate of either search space.
        classes: number of classes.
        alpha: MobileNetV2 width multiplier (1 for Xception).
        input_size: square input size (384 on GAP8).

    Raises:
        ArchitectureError: ``arch`` uses a value outside its search space (build the adapted
            Keras network instead), or an alpha other than 1 for Xception.
    """
    ops = _TraceOps(netdef.choices(arch))
    shape = (input_size, input_size, 3)
    netdef.NETWORKS[arch.backbone](ops, _Tensor("input", shape), classes, input_size, alpha, gap8=True)
    fuser = _Fuser(ops.layers, shape)
    for layer in _keras_order(ops.layers):
        fuser.visit(layer)
    return Gap8Graph(list(fuser.nodes.values()), shape, fuser.alias[ops.layers[-1].name])
