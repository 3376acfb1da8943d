"""DeepLabV3+ with the Modified Xception backbone, built from an :class:`XceptionArch`.

Layer names and weight shapes follow keras-deeplab-v3-plus, so its PASCAL VOC ``.h5`` weights
load by name. The genes change only strides, atrous rates and which middle-flow blocks exist —
never a weight shape — so every candidate's weights are a subset of the supernet's.
"""

from __future__ import annotations

import tf_keras

from ..space.xception import XceptionArch
from .blocks import (
    aspp_1x1,
    conv2d_same,
    image_pooling,
    logits,
    projection,
    sep_conv_bn,
    upsample_to,
)
from .layers import BilinearResize

layers = tf_keras.layers


def xception_block(x, depths, prefix: str, skip: str, stride: int, rate: int = 1,
                   depth_activation: bool = False, return_skip: bool = False):
    """Three separable convs with a conv / sum / no shortcut (``_xception_block``)."""
    residual, low_level = x, None
    for i in range(3):
        residual = sep_conv_bn(residual, depths[i], f"{prefix}_separable_conv{i + 1}",
                               stride=stride if i == 2 else 1, rate=rate,
                               depth_activation=depth_activation)
        if i == 1:
            low_level = residual
    if skip == "conv":
        shortcut = conv2d_same(x, depths[-1], f"{prefix}_shortcut", kernel=1, stride=stride)
        shortcut = layers.BatchNormalization(name=f"{prefix}_shortcut_BN")(shortcut)
        out = layers.Add(name=f"{prefix}_add")([residual, shortcut])
    elif skip == "sum":
        out = layers.Add(name=f"{prefix}_add")([residual, x])
    else:
        out = residual
    return (out, low_level) if return_skip else out


def _entry_flow(x, arch: XceptionArch):
    x = layers.Conv2D(32, 3, strides=2, use_bias=False, padding="same", name="entry_flow_conv1_1")(x)
    x = layers.BatchNormalization(name="entry_flow_conv1_1_BN")(x)
    x = layers.ReLU(name="entry_flow_conv1_1_relu")(x)
    x = conv2d_same(x, 64, "entry_flow_conv1_2", kernel=3, stride=1)
    x = layers.BatchNormalization(name="entry_flow_conv1_2_BN")(x)
    x = layers.ReLU(name="entry_flow_conv1_2_relu")(x)
    x = xception_block(x, [128] * 3, "entry_flow_block1", "conv", stride=2)
    x, low_level = xception_block(x, [256] * 3, "entry_flow_block2", "conv", stride=2, return_skip=True)
    x = xception_block(x, [728] * 3, "entry_flow_block3", "conv", stride=arch.entry_stride)
    return x, low_level


def _middle_and_exit_flow(x, arch: XceptionArch):
    # A left-out middle block is the identity (the blocks are residual).
    for i in arch.middle_blocks:
        x = xception_block(x, [728] * 3, f"middle_flow_unit_{i}", "sum", stride=1, rate=arch.middle_rate)
    x = xception_block(x, [728, 1024, 1024], "exit_flow_block1", "conv", stride=1, rate=arch.exit_rates[0])
    return xception_block(x, [1536, 1536, 2048], "exit_flow_block2", "none", stride=1,
                          rate=arch.exit_rates[1], depth_activation=True)


def _decoder(x, low_level, gap8: bool = False):
    # Resize to the low-level features' size (not by a fixed factor) so every entry stride and
    # input size works.
    size = tuple(low_level.shape[1:3])
    if gap8:
        x = upsample_to(x, size, "decoder_upsample")
    else:
        x = BilinearResize(size, name="decoder_upsample")(x)
    skip = layers.Conv2D(48, 1, padding="same", use_bias=False, name="feature_projection0")(low_level)
    skip = layers.BatchNormalization(epsilon=1e-5, name="feature_projection0_BN")(skip)
    skip = layers.ReLU(name="feature_projection0_relu")(skip)
    x = layers.Concatenate(name="decoder_concat")([x, skip])
    x = sep_conv_bn(x, 256, "decoder_conv0", depth_activation=True, epsilon=1e-5)
    return sep_conv_bn(x, 256, "decoder_conv1", depth_activation=True, epsilon=1e-5)


def build_xception(arch: XceptionArch, input_size: int = 513, classes: int = 21,
                   gap8: bool = False) -> tf_keras.Model:
    """Build the DeepLabV3+ / Modified Xception network of ``arch``.

    Args:
        arch: the decoded candidate (``XceptionArch()`` is the supernet).
        input_size: square input size (513 in the paper).
        classes: number of output classes.
        gap8: build the GAP8-adapted variant: ASPP pruned to the image-pooling and 1x1
            branches, integer upsampling, average-pool chains.

    Returns:
        A Keras functional model mapping ``(N, S, S, 3)`` images scaled to [-1, 1] to logits
        ``(N, S, S, classes)``.
    """
    inputs = layers.Input((input_size, input_size, 3), name="input_1")
    x, low_level = _entry_flow(inputs, arch)
    x = _middle_and_exit_flow(x, arch)
    branches = [image_pooling(x, gap8=gap8), aspp_1x1(x)]
    if not gap8:
        for i, rate in enumerate(arch.aspp_rates, start=1):
            branches.append(sep_conv_bn(x, 256, f"aspp{i}", rate=rate, depth_activation=True, epsilon=1e-5))
    x = projection(branches)
    x = _decoder(x, low_level, gap8)
    name = "deeplabv3plus_xception" + ("_gap8" if gap8 else "")
    return tf_keras.Model(inputs, logits(x, classes, input_size, gap8), name=name)
