"""Custom Keras layers used by the DeepLabV3+ builders.

Both are serialisable (``get_config``) so models round-trip through Keras' model config, and both
lower to plain TFLite operators (RESIZE_BILINEAR, STRIDED_SLICE).
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

keras = tf_keras
# TF's deprecation warnings (e.g. for the align_corners resize DeepLab needs) are noise for users.
tf.get_logger().setLevel("ERROR")


@keras.utils.register_keras_serializable(package="fmas_hw")
class BilinearResize(tf_keras.layers.Layer):
    """Bilinear resize to a fixed spatial size, ``align_corners=True`` as in DeepLab.

    keras-deeplab-v3-plus uses ``tf.compat.v1.image.resize(..., align_corners=True)`` inside
    ``Lambda`` layers; a named layer with a config keeps the same numerics and stays serialisable.
    """

    def __init__(self, size: tuple[int, int], align_corners: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.size = (int(size[0]), int(size[1]))
        self.align_corners = bool(align_corners)

    def call(self, inputs):
        return tf.compat.v1.image.resize_bilinear(inputs, self.size, align_corners=self.align_corners)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape([input_shape[0], *self.size, input_shape[-1]])

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "align_corners": self.align_corners}


@keras.utils.register_keras_serializable(package="fmas_hw")
class Subsample2D(tf_keras.layers.Layer):
    """Keep every ``stride``-th row and column (``x[:, ::s, ::s, :]``).

    Keras refuses a convolution with both stride > 1 and dilation > 1. The search space allows that
    combination (e.g. a stride-2 first 160-channel layer with dilation 2), so it is built as the
    dense dilated convolution followed by this subsampling — the same weights, and what an
    AutoTiler convolution with ``Scx > 1`` and ``Dcx > 1`` computes up to the padding offset.
    """

    def __init__(self, stride: int, **kwargs):
        super().__init__(**kwargs)
        self.stride = int(stride)

    def call(self, inputs):
        return inputs[:, :: self.stride, :: self.stride, :]

    def compute_output_shape(self, input_shape):
        def reduced(n):
            return None if n is None else -(-n // self.stride)

        return tf.TensorShape([input_shape[0], reduced(input_shape[1]), reduced(input_shape[2]), input_shape[3]])

    def get_config(self):
        return {**super().get_config(), "stride": self.stride}
