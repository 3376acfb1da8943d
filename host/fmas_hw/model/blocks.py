"""Building blocks shared by both DeepLabV3+ builders (names follow keras-deeplab-v3-plus)."""

from __future__ import annotations

import tensorflow as tf

from .layers import BilinearResize

layers = tf.keras.layers


def same_padding(kernel: int, rate: int) -> tuple[int, int]:
    """Explicit (begin, end) padding that makes a strided 'valid' conv behave like 'same'."""
    effective = kernel + (kernel - 1) * (rate - 1)
    total = effective - 1
    return total // 2, total - total // 2


def conv2d_same(x, filters: int, name: str, stride: int = 1, kernel: int = 3, rate: int = 1):
    """Conv2D with DeepLab's 'same' padding for strided convolutions (no 1-pixel drift)."""
    if stride == 1:
        return layers.Conv2D(filters, kernel, padding="same", use_bias=False,
                             dilation_rate=rate, name=name)(x)
    x = layers.ZeroPadding2D(same_padding(kernel, rate), name=f"{name}_pad")(x)
    return layers.Conv2D(filters, kernel, strides=stride, padding="valid", use_bias=False,
                         dilation_rate=rate, name=name)(x)


def sep_conv_bn(x, filters: int, prefix: str, stride: int = 1, kernel: int = 3, rate: int = 1,
                depth_activation: bool = False, epsilon: float = 1e-3):
    """Depthwise-separable conv with BN between depthwise and pointwise (``SepConv_BN``)."""
    if stride == 1:
        padding = "same"
    else:
        x = layers.ZeroPadding2D(same_padding(kernel, rate), name=f"{prefix}_pad")(x)
        padding = "valid"
    if not depth_activation:
        x = layers.ReLU(name=f"{prefix}_prerelu")(x)
    x = layers.DepthwiseConv2D(kernel, strides=stride, dilation_rate=rate, padding=padding,
                               use_bias=False, name=f"{prefix}_depthwise")(x)
    x = layers.BatchNormalization(epsilon=epsilon, name=f"{prefix}_depthwise_BN")(x)
    if depth_activation:
        x = layers.ReLU(name=f"{prefix}_depthwise_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{prefix}_pointwise")(x)
    x = layers.BatchNormalization(epsilon=epsilon, name=f"{prefix}_pointwise_BN")(x)
    if depth_activation:
        x = layers.ReLU(name=f"{prefix}_pointwise_relu")(x)
    return x


def image_pooling(x, name: str = "image_pooling"):
    """ASPP image-level branch: global average, 1x1 conv, BN, ReLU, back to the feature size."""
    size = tuple(x.shape[1:3])
    b = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_gap")(x)
    b = layers.Conv2D(256, 1, padding="same", use_bias=False, name=name)(b)
    b = layers.BatchNormalization(epsilon=1e-5, name=f"{name}_BN")(b)
    b = layers.ReLU(name=f"{name}_relu")(b)
    return BilinearResize(size, name=f"{name}_resize")(b)


def aspp_1x1(x):
    """ASPP 1x1 branch (``aspp0``)."""
    b = layers.Conv2D(256, 1, padding="same", use_bias=False, name="aspp0")(x)
    b = layers.BatchNormalization(epsilon=1e-5, name="aspp0_BN")(b)
    return layers.ReLU(name="aspp0_activation")(b)


def projection(branches):
    """Concatenate the ASPP branches and project them to 256 channels."""
    x = layers.Concatenate(name="aspp_concat")(branches) if len(branches) > 1 else branches[0]
    x = layers.Conv2D(256, 1, padding="same", use_bias=False, name="concat_projection")(x)
    x = layers.BatchNormalization(epsilon=1e-5, name="concat_projection_BN")(x)
    x = layers.ReLU(name="concat_projection_relu")(x)
    return layers.Dropout(0.1, name="concat_projection_dropout")(x)


def logits(x, classes: int, input_size: int):
    """1x1 classifier and bilinear upsampling to the input size."""
    x = layers.Conv2D(classes, 1, padding="same", name="logits_semantic")(x)
    return BilinearResize((input_size, input_size), name="logits_resize")(x)
