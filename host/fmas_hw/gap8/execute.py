"""Run a :class:`~fmas_hw.gap8.graph.Gap8Graph` with TensorFlow ops (float reference).

Used to prove that the fused graph the code generator and cycle model see computes what the Keras
model computes (folded BN, merged padding, strided dilated depthwise).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras

from .graph import Gap8Graph, Node


def _pad(x, node: Node):
    top, bottom, left, right = node.padding
    return tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])


def _activate(x, act: str):
    return {"none": lambda v: v, "relu": tf.nn.relu, "relu6": tf.nn.relu6}[act](x)


def _run_conv(x, node: Node):
    x = _pad(x, node)
    if node.op == "conv":
        y = tf.nn.conv2d(x, node.weights, strides=node.stride, padding="VALID", dilations=node.dilation)
    else:
        dense = node.stride if node.dilation == (1, 1) else (1, 1)
        y = tf.nn.depthwise_conv2d(x, node.weights, strides=(1, *dense, 1), padding="VALID",
                                   dilations=node.dilation)
        if dense != node.stride:
            y = y[:, :: node.stride[0], :: node.stride[1], :]
    return _activate(tf.nn.bias_add(y, node.bias), node.activation)


def _run(node: Node, xs):
    x = xs[0]
    if node.op in ("conv", "depthwise"):
        return _run_conv(x, node)
    if node.op == "avgpool":
        return tf.nn.avg_pool2d(x, node.kernel, node.stride, "VALID")
    if node.op == "upsample":
        return tf_keras.layers.UpSampling2D(node.stride, interpolation=node.interpolation)(x)
    if node.op == "crop":
        top, bottom, left, right = node.crop
        return x[:, top: x.shape[1] - bottom, left: x.shape[2] - right, :]
    if node.op == "add":
        return _activate(tf.add_n(xs), node.activation)
    if node.op == "concat":
        return tf.concat(xs, axis=-1)
    return _activate(x, node.activation)


def run_graph(graph: Gap8Graph, images: np.ndarray) -> np.ndarray:
    """Evaluate ``graph`` on ``images`` (N, H, W, 3) and return the output logits."""
    values = {"input": tf.convert_to_tensor(images, tf.float32)}
    for node in graph:
        values[node.name] = _run(node, [values[i] for i in node.inputs])
    return values[graph.output].numpy()
