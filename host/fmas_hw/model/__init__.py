"""Keras DeepLabV3+ builders, the in-memory supernet and weight sharing by layer name."""

import tensorflow as tf

# TF's deprecation warnings (e.g. for the align_corners resize DeepLab needs) are noise for users.
tf.get_logger().setLevel("ERROR")
