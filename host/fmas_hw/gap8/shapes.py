"""The GAP8 layer graph of a MobileNetV2 candidate computed from its architecture alone.

The cycle model and the memory plan need only shapes and layer parameters, not weights, so this
builds the same :class:`~fmas_hw.gap8.graph.Gap8Graph` that :func:`extract_graph` derives from the
GAP8-adapted Keras network — node for node, name for name (a test checks equality on many genomes)
— in about a millisecond instead of a second of Keras model construction. Weights are
zero-stride placeholders with the right shapes.
"""

from __future__ import annotations

import numpy as np

from ..model.blocks import pool_factors
from ..model.mobilenetv2 import BLOCK_FILTERS, EXPANSION, GROUP_FIRST, make_divisible
from ..space.mobilenetv2 import Layer, MobileNetV2Arch
from .graph import Gap8Graph, Node, tf_same_padding

Shape = tuple[int, int, int]


def _placeholder(shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.float32(0), shape)


class _Graph:
    def __init__(self):
        self.nodes: list[Node] = []

    def conv(self, name, src, shape: Shape, out_c, kernel=1, stride=1, act="relu6", layers=(), bias_note=None):
        h, w, c = shape
        pads = tf_same_padding(h, kernel, stride, 1) + tf_same_padding(w, kernel, stride, 1)
        out = (-(-h // stride), -(-w // stride), out_c)
        node = Node(name, "conv", (src.name if src else "input",), shape, out, (kernel, kernel), (stride, stride),
                    (1, 1), pads, act, _placeholder((kernel, kernel, c, out_c)), _placeholder((out_c,)),
                    keras_layers=[name, *layers])
        self.nodes.append(node)
        return node

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        return node


def _block(g: _Graph, x: Node | None, shape: Shape, layer: Layer, alpha: float) -> tuple[Node, Shape]:
    b = layer.block
    p = f"expanded_conv_{b}_" if b else "expanded_conv_"
    h, w, c = shape
    src, cur = x, shape
    if b:
        expand = g.conv(p + "expand", x, shape, EXPANSION[b] * c, layers=(p + "expand_BN", p + "expand_relu"))
        src, cur = expand, expand.out_shape
    dense = layer.stride if layer.dilation == 1 else 1
    d = layer.dilation
    pads = tf_same_padding(h, 3, dense, d) + tf_same_padding(w, 3, dense, d)
    e = cur[2]
    out = (-(-h // layer.stride), -(-w // layer.stride), e)
    keras = [p + "depthwise"] + ([p + "subsample"] if dense != layer.stride else []) + [
        p + "depthwise_BN", p + "depthwise_relu"]
    dw = g.add(Node(p + "depthwise", "depthwise", (src.name if src else "input",), cur, out, (3, 3),
                    (layer.stride, layer.stride), (d, d), pads, "relu6", _placeholder((3, 3, e, 1)),
                    _placeholder((e,)), keras_layers=keras))
    proj = g.conv(p + "project", dw, out, make_divisible(BLOCK_FILTERS[b] * alpha), act="none",
                  layers=(p + "project_BN",))
    if b in GROUP_FIRST:
        return proj, proj.out_shape
    node = g.add(Node(p + "add", "add", (x.name if x else "input", proj.name), shape, proj.out_shape, keras_layers=[p + "add"]))
    return node, node.out_shape


def _upsample(g: _Graph, name: str, src: Node, size: tuple[int, int], interpolation: str) -> Node:
    """Integer upsampling of ``src`` to ``size``; a 1x1 map as 1xW then Hx1, nearest
    (``model.blocks.upsample_to``, GAP8 adaptation 5)."""
    h, w, c = src.out_shape
    if (h, w) == (1, 1):
        interpolation = "nearest"
        if min(size) > 1:
            src = g.add(Node(f"{name}_w", "upsample", (src.name,), src.out_shape, (1, size[1], c),
                             stride=(1, size[1]), interpolation=interpolation, keras_layers=[f"{name}_w"]))
    (h, w, _), (oh, ow) = src.out_shape, size
    return g.add(Node(name, "upsample", (src.name,), src.out_shape, (oh, ow, c), stride=(oh // h, ow // w),
                      interpolation=interpolation, keras_layers=[name]))


def _head(g: _Graph, x: Node, shape: Shape, classes: int, size: int) -> None:
    h, w, c = shape
    fh, fw = pool_factors(h), pool_factors(w)
    n = max(len(fh), len(fw))
    fh, fw = fh + [1] * (n - len(fh)), fw + [1] * (n - len(fw))
    src, cur = x, shape
    for i, (a, b) in enumerate(zip(fh, fw, strict=True)):
        out = (cur[0] // a, cur[1] // b, c)
        src = g.add(Node(f"image_pooling_avgpool{i}", "avgpool", (src.name,), cur, out, (a, b), (a, b),
                         keras_layers=[f"image_pooling_avgpool{i}"]))
        cur = out
    pooled = g.conv("image_pooling", src, cur, 256, act="relu", layers=("image_pooling_BN", "image_pooling_relu"))
    # Keras orders layers by depth; aspp0 ties with the upsampling and comes first.
    aspp0 = g.conv("aspp0", x, shape, 256, act="relu", layers=("aspp0_BN", "aspp0_activation"))
    up = _upsample(g, "image_pooling_upsample", pooled, (h, w), "nearest")
    cat = g.add(Node("aspp_concat", "concat", (up.name, aspp0.name), (h, w, 256), (h, w, 512),
                     keras_layers=["aspp_concat"]))
    proj = g.conv("concat_projection", cat, (h, w, 512), 256, act="relu",
                  layers=("concat_projection_BN", "concat_projection_relu"))
    logits = g.conv("logits_semantic", proj, (h, w, 256), classes, act="none")
    uh, uw = -(-size // h), -(-size // w)
    up = _upsample(g, "logits_upsample", logits, (uh * h, uw * w), "bilinear")
    if (uh * h, uw * w) != (size, size):
        g.add(Node("logits_upsample_crop", "crop", (up.name,), up.out_shape, (size, size, classes),
                   crop=(0, uh * h - size, 0, uw * w - size), keras_layers=["logits_upsample_crop"]))


def mobilenetv2_graph(arch: MobileNetV2Arch, classes: int, alpha: float, input_size: int) -> Gap8Graph:
    """The fused GAP8 graph of the adapted MobileNetV2 candidate ``arch`` (shapes only)."""
    g = _Graph()
    x = g.conv("Conv", None, (input_size, input_size, 3), make_divisible(32 * alpha), kernel=3, stride=2,
               layers=("Conv_BN", "Conv_Relu6"))
    shape = x.out_shape
    for layer in arch.layers:
        x, shape = _block(g, x, shape, layer, alpha)
    _head(g, x, shape, classes, input_size)
    return Gap8Graph(g.nodes, (input_size, input_size, 3), g.nodes[-1].name)
