"""Building blocks shared by both DeepLabV3+ builders (names follow keras-deeplab-v3-plus).

TensorFlow is imported when the first block is built, not with this module: the weightless
interpreters use its geometry (:mod:`.geometry`, re-exported here) without it.
"""

from __future__ import annotations

from typing import Any

from .geometry import pool_factors, same_padding

__all__ = ["pool_factors", "same_padding", "conv2d_same", "sep_conv_bn", "image_pooling", "broadcast_upsampling",
           "average_pool_chain", "upsample_to", "aspp_1x1", "projection", "logits"]


class _KerasLayers:
    """``tf_keras.layers``, looked up (and TensorFlow imported) when a block is built."""

    def __getattr__(self, name: str) -> Any:
        import tf_keras

        return getattr(tf_keras.layers, name)


layers = _KerasLayers()


def _bilinear_resize(size: tuple[int, int], name: str) -> Any:
    from .layers import BilinearResize

    return BilinearResize(size, name=name)


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


def image_pooling(x, name: str = "image_pooling", gap8: bool = False):
    """ASPP image-level branch: global average, 1x1 conv, BN, ReLU, back to the feature size.

    With ``gap8`` the global average is a chain of ``AveragePooling2D`` layers and the way back
    integer ``UpSampling2D`` layers (GAP8 adaptations 3 to 5); both compute the same values.
    """
    size = tuple(x.shape[1:3])
    if gap8:
        b = average_pool_chain(x, f"{name}_avgpool")
    else:
        b = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_gap")(x)
    b = layers.Conv2D(256, 1, padding="same", use_bias=False, name=name)(b)
    b = layers.BatchNormalization(epsilon=1e-5, name=f"{name}_BN")(b)
    b = layers.ReLU(name=f"{name}_relu")(b)
    if gap8:
        return upsample_to(b, size, f"{name}_upsample", interpolation="nearest")
    return _bilinear_resize(size, f"{name}_resize")(b)


def broadcast_upsampling(x, size: tuple[int, int], name: str):
    """A 1x1 map to ``size`` by nearest ``UpSampling2D``: the broadcast any resize computes.

    When both axes grow it is two layers, ``(1, W)`` (``<name>_w``) then ``(H, 1)`` (``<name>``),
    GAP8 adaptation 5: the AutoTiler finds no tiling for a resize whose input is 1x1 (NNTool's
    ``generation/generators/general/resizer.py`` warns it "could not work in autotiler"), while a
    1x1xC map resized along one axis is, in the CHW layout, a C-row image resized along the other
    (see :func:`fmas_hw.gap8.codegen.resize_geometry`). A constant map stays the same constant
    whatever the order; nearest is exact here, and the SQ8 bilinear kernel would read a second
    row/column that a 1-pixel axis does not have.
    """
    h, w = size
    if h > 1 and w > 1:
        x = layers.UpSampling2D((1, w), interpolation="nearest", name=f"{name}_w")(x)
        h, w = h, 1
    return layers.UpSampling2D((h, w), interpolation="nearest", name=name)(x)


def average_pool_chain(x, name: str):
    """Global average pooling as consecutive ``AveragePooling2D`` layers (GAP8 adaptation 4)."""
    fh, fw = pool_factors(int(x.shape[1])), pool_factors(int(x.shape[2]))
    steps = max(len(fh), len(fw))
    fh, fw = fh + [1] * (steps - len(fh)), fw + [1] * (steps - len(fw))
    for i, (a, b) in enumerate(zip(fh, fw, strict=False)):
        x = layers.AveragePooling2D((a, b), strides=(a, b), padding="valid", name=f"{name}{i}")(x)
    return x


def upsample_to(x, size: tuple[int, int], name: str, interpolation: str = "bilinear"):
    """Integer-factor ``UpSampling2D`` to ``size`` (GAP8 adaptation 3).

    When ``size`` is not an integer multiple of the feature size (e.g. stride-3 candidates:
    384 / 22), the factor is rounded up and the surplus cropped at the bottom/right. A 1x1 map
    is broadcast (:func:`broadcast_upsampling`), which every interpolation computes.
    """
    h, w = int(x.shape[1]), int(x.shape[2])
    if (h, w) == (1, 1):
        return broadcast_upsampling(x, size, name)
    fh, fw = -(-size[0] // h), -(-size[1] // w)
    x = layers.UpSampling2D((fh, fw), interpolation=interpolation, name=name)(x)
    if (fh * h, fw * w) != tuple(size):
        x = layers.Cropping2D(((0, fh * h - size[0]), (0, fw * w - size[1])), name=f"{name}_crop")(x)
    return x


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


def logits(x, classes: int, input_size: int, gap8: bool = False):
    """1x1 classifier and bilinear upsampling to the input size."""
    x = layers.Conv2D(classes, 1, padding="same", name="logits_semantic")(x)
    if gap8:
        return upsample_to(x, (input_size, input_size), "logits_upsample")
    return _bilinear_resize((input_size, input_size), "logits_resize")(x)
