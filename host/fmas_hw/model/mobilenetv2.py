"""DeepLabV3+ with the MobileNetV2 backbone (output stride 8), built from a :class:`MobileNetV2Arch`.

As in keras-deeplab-v3-plus: ASPP with only the image-pooling and 1x1 branches, no decoder,
logits upsampled to the input size. A candidate runs a subset of the supernet's inverted-residual
blocks; each block is named after the supernet block whose weights it uses, so weights copy by
layer name.
"""

from __future__ import annotations

import tf_keras

from ..space.mobilenetv2 import Layer, MobileNetV2Arch
from .blocks import aspp_1x1, image_pooling, logits, projection
from .geometry import BLOCK_FILTERS, EXPANSION, GROUP_FIRST, make_divisible
from .layers import Subsample2D

__all__ = ["BLOCK_FILTERS", "EXPANSION", "GROUP_FIRST", "make_divisible", "inverted_res_block", "build_mobilenetv2"]

layers = tf_keras.layers

def inverted_res_block(x, layer: Layer, alpha: float, bn_momentum: float):
    """Expand (1x1) -> depthwise (3x3, stride, dilation) -> project (1x1) [+ residual]."""
    block = layer.block
    in_channels = x.shape[-1]
    out_channels = make_divisible(BLOCK_FILTERS[block] * alpha)
    prefix = f"expanded_conv_{block}_" if block else "expanded_conv_"
    bn = dict(epsilon=1e-3, momentum=bn_momentum)
    h = x
    if block:
        h = layers.Conv2D(EXPANSION[block] * in_channels, 1, padding="same", use_bias=False,
                          name=prefix + "expand")(h)
        h = layers.BatchNormalization(name=prefix + "expand_BN", **bn)(h)
        h = layers.ReLU(6.0, name=prefix + "expand_relu")(h)
    # Keras forbids stride > 1 together with dilation > 1: run the dilated depthwise densely and
    # subsample (see Subsample2D).
    dense_stride = layer.stride if layer.dilation == 1 else 1
    h = layers.DepthwiseConv2D(3, strides=dense_stride, dilation_rate=layer.dilation, padding="same",
                               use_bias=False, name=prefix + "depthwise")(h)
    if layer.stride > 1 and layer.dilation > 1:
        h = Subsample2D(layer.stride, name=prefix + "subsample")(h)
    h = layers.BatchNormalization(name=prefix + "depthwise_BN", **bn)(h)
    h = layers.ReLU(6.0, name=prefix + "depthwise_relu")(h)
    h = layers.Conv2D(out_channels, 1, padding="same", use_bias=False, name=prefix + "project")(h)
    h = layers.BatchNormalization(name=prefix + "project_BN", **bn)(h)
    if block in GROUP_FIRST:
        return h
    return layers.Add(name=prefix + "add")([x, h])


def build_mobilenetv2(arch: MobileNetV2Arch, input_size: int = 384, classes: int = 21,
                      alpha: float = 1.0, bn_momentum: float = 0.99, gap8: bool = False) -> tf_keras.Model:
    """Build the DeepLabV3+ / MobileNetV2 network of ``arch``.

    Args:
        arch: the decoded candidate (the supernet is ``MobileNetV2Space().supernet()``).
        input_size: square input size (384 on GAP8).
        classes: number of output classes.
        alpha: width multiplier (1.0 is the architecture the GAP8 space is defined on; smaller
            widths give reduced supernets for tests on small machines).
        bn_momentum: BatchNormalization momentum (training only; not a weight).
        gap8: build the GAP8-adapted variant (integer upsampling, average-pool chains).

    Returns:
        A Keras functional model mapping ``(N, S, S, 3)`` images scaled to [-1, 1] to logits.
    """
    inputs = layers.Input((input_size, input_size, 3), name="input_1")
    x = layers.Conv2D(make_divisible(32 * alpha), 3, strides=2, padding="same", use_bias=False,
                      name="Conv")(inputs)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=bn_momentum, name="Conv_BN")(x)
    x = layers.ReLU(6.0, name="Conv_Relu6")(x)
    for layer in arch.layers:
        x = inverted_res_block(x, layer, alpha, bn_momentum)
    x = projection([image_pooling(x, gap8=gap8), aspp_1x1(x)])
    name = "deeplabv3plus_mobilenetv2" + ("_gap8" if gap8 else "")
    return tf_keras.Model(inputs, logits(x, classes, input_size, gap8), name=name)
