"""Small networks and images that the export tests convert.

The candidate is a minimal 64x64, alpha 0.35, 5-class MobileNetV2 network with a stride-2
dilation-2 block (Subsample2D), dilation-2 and dilation-4 blocks. Its weights are random with
BatchNormalization statistics calibrated on the images, so activations carry the input through
the network (with uncalibrated random statistics every pixel gets the same class and an
agreement test would be vacuous). :func:`dilated_model` has every dilation pattern of the
builders, small.
"""

from __future__ import annotations

import numpy as np
import tf_keras

from fmas_hw.model.layers import Subsample2D
from fmas_hw.model.supernet import Supernet
from fmas_hw.space import MobileNetV2Space

L = tf_keras.layers
SIZE, CLASSES = 64, 5
#: block 13 stride 2 + dilation 2 (Subsample2D), block 16 dilation 4, one layer per group.
GENOME = "0010" + "001" + "000011" + "10" + "100" + "1000" + "100" + "100"


def blob_images(n: int, seed: int, size: int = SIZE) -> np.ndarray:
    """Images in [-1, 1]: a flat background with a few discs of random colour."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.empty((n, size, size, 3), np.float32)
    for k in range(n):
        out[k] = rng.uniform(-1, 1, 3)
        for _ in range(4):
            cy, cx = rng.uniform(0.1, 0.9, 2)
            out[k][(yy - cy) ** 2 + (xx - cx) ** 2 < rng.uniform(0.1, 0.3) ** 2] = rng.uniform(-1, 1, 3)
    return out


def calibrate_batchnorm(model: tf_keras.Model, images: np.ndarray) -> None:
    """Set every BN's moving statistics to the batch statistics of ``images`` (one pass)."""
    bns = [lay for lay in model.layers if isinstance(lay, L.BatchNormalization)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.momentum = 0.0
    model(images, training=True)
    for bn, momentum in zip(bns, momenta, strict=True):
        bn.momentum = momentum


def candidate_model(supernet: Supernet, calibration_images: np.ndarray) -> tf_keras.Model:
    """The :data:`GENOME` candidate of the tiny supernet, its BN statistics set on the images."""
    model = supernet.subnet(MobileNetV2Space().decode(GENOME))
    calibrate_batchnorm(model, calibration_images)
    return model


def dilated_model() -> tf_keras.Model:
    """Every dilation pattern of the builders, small: dilated Conv2D, depthwise, depthwise+subsample."""
    rng = np.random.default_rng(0)
    x = inputs = L.Input((16, 16, 8), name="input_1")
    x = L.Conv2D(8, 3, dilation_rate=2, padding="same", name="conv_d2")(x)
    x = L.DepthwiseConv2D(3, dilation_rate=2, padding="same", use_bias=False, name="dw_d2")(x)
    x = L.BatchNormalization(name="dw_d2_BN")(x)
    x = L.ReLU(6.0, name="dw_d2_relu")(x)
    x = L.DepthwiseConv2D(3, dilation_rate=4, padding="same", use_bias=False, name="dw_s2_d4")(x)
    x = Subsample2D(2, name="dw_s2_d4_subsample")(x)
    x = L.BatchNormalization(name="dw_s2_d4_BN")(x)
    x = L.DepthwiseConv2D(3, dilation_rate=2, padding="valid", name="dw_valid_d2")(x)
    model = tf_keras.Model(inputs, x, name="dilated")
    for w in model.weights:
        w.assign(rng.uniform(0.5, 1.5, w.shape).astype(np.float32))
    return model
