"""The shared training loop's loss: per-pixel cross-entropy without the ignore label."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fmas_hw.training.loops import masked_cross_entropy


def test_masked_cross_entropy_ignores_255():
    logits = tf.constant(np.log([[[[0.7, 0.3], [0.5, 0.5]]]]), tf.float32)  # 1x1x2 pixels, 2 classes
    labels = tf.constant([[[0, 255]]], tf.uint8)
    assert float(masked_cross_entropy(labels, logits)) == pytest.approx(-np.log(0.7), rel=1e-5)
